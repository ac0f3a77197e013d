package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/viper"

	"github.com/credd/credd/config"
)

// source is where this invocation's configuration comes from: --config,
// the environment, and CREDD_* variables and flags over the file.
func (a *app) source(awsProfiles bool) config.Source {
	return config.Source{Path: a.configPath, Getenv: a.io.Getenv, AWSProfiles: awsProfiles, Override: a.applyOverrides}
}

// load is the validated configuration (config.Load).
func (a *app) load() (config.Loaded, error) { return config.Load(a.source(true)) }

// clientConfig is the configuration of a command that talks to the running
// daemon (config.LoadLenient): its problems earn one warning on stderr,
// and the command goes on with what could be read. awsProfiles says
// whether it needs the profiles of a zero-configuration run
// (config.Source.AWSProfiles).
func (a *app) clientConfig(awsProfiles bool) (config.Loaded, error) {
	l, err := config.LoadLenient(a.source(awsProfiles))
	if err != nil || l.Problems == nil {
		return l, err
	}
	fmt.Fprintf(a.io.Err, "credd: warning: the configuration has problems: %s; going on with state dir %s. Run `credd config check` to see them all.\n", config.Brief(l.Problems, 300), l.Config.StateDir)
	return l, nil
}

// applyOverrides merges CREDD_<KEY> variables and then flags (later wins)
// in one viper instance per run, and applies what is set to cfg; it
// returns the values that could not be applied. The environment is read
// through IO rather than viper's AutomaticEnv so that tests control it.
func (a *app) applyOverrides(cfg *config.Config) config.Errors {
	v := viper.New()
	for _, k := range config.EnvKeys {
		if val := a.io.Getenv(config.EnvName(k)); val != "" {
			v.Set(k, val)
		}
	}
	if a.listen != "" {
		v.Set("listen", a.listen)
	}
	if a.stateDir != "" {
		v.Set("state_dir", a.stateDir)
	}
	var errs config.Errors
	for _, k := range config.EnvKeys {
		if !v.IsSet(k) {
			continue
		}
		if err := cfg.Set(k, v.GetString(k)); err != nil {
			var fe config.FieldError
			if errors.As(err, &fe) {
				errs = append(errs, fe)
			}
		}
	}
	return errs
}
