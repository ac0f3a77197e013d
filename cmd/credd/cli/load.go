package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/viper"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
)

// loaded is a configuration and where it came from.
type loaded struct {
	cfg  config.Config
	path string // the config file, found or not
	// fromFile is false in zero-configuration mode (no file: serve the
	// profiles of ~/.aws/config).
	fromFile bool
	// skipped lists ~/.aws/config profiles that zero-config mode could not
	// serve under their name.
	skipped []string
	// problems is set by clientConfig when the configuration does not
	// parse or validate: cfg is then only the part that could be read.
	problems error
}

// load reads the config file (or builds the zero-configuration default),
// applies CREDD_* variables and flags, fills per-OS defaults and validates.
// Every problem is reported at once: unknown keys, values of the wrong
// kind and bad variables together with what Validate finds.
func (a *app) load() (loaded, error) {
	l, problems, err := a.read(true)
	if err != nil {
		return l, err
	}
	if problems != nil {
		es, ok := config.AsErrors(problems)
		if !ok {
			return l, problems // not YAML: nothing to validate
		}
		return l, config.Merge(es, l.cfg.Validate())
	}
	return l, l.cfg.Validate()
}

// clientConfig is the configuration of a command that talks to the running
// daemon. That daemon may be serving fine from an earlier version of a file
// now half-edited, so a config that does not parse or validate only earns
// one warning on stderr, and the command goes on with what could be read
// (state_dir from the file, --state-dir, CREDD_STATE_DIR or the default).
// A file that cannot be read at all still stops it.
//
// awsProfiles says whether the command needs the profiles of a
// zero-configuration run (those of ~/.aws/config): most commands need only
// the state dir, and reading thousands of profiles was most of what `credd
// status` cost. Without them, l.cfg.Profiles is empty in that mode (what
// Validate checks against profiles is then not checked; the daemon checks
// it).
func (a *app) clientConfig(awsProfiles bool) (loaded, error) {
	l, problems, err := a.read(awsProfiles)
	if err != nil {
		return l, err
	}
	if es, ok := config.AsErrors(problems); ok || problems == nil {
		problems = config.Merge(es, l.cfg.Validate())
	}
	if problems == nil {
		return l, nil
	}
	l.problems = problems
	first, more := problems.Error(), 0
	if es, ok := config.AsErrors(problems); ok {
		first, more = es[0].Error(), len(es)-1
	}
	if more > 0 {
		first += fmt.Sprintf(" (and %d more)", more)
	}
	fmt.Fprintf(a.io.Err, "credd: warning: the configuration has problems: %s; going on with state dir %s. Run `credd config check` to see them all.\n", oneLine(first, 300), l.cfg.StateDir)
	return l, nil
}

// read locates and reads the configuration, applies CREDD_* variables and
// flags and fills per-OS defaults; it does not validate. err means no
// configuration could be had at all (the file cannot be read, no state
// dir). problems is what is wrong with it (config.Errors, each under its
// key, or the file is not YAML at all), while l holds the best that could
// be made of it. With awsProfiles false, a zero-configuration run leaves
// the profiles of ~/.aws/config unread (see clientConfig).
func (a *app) read(awsProfiles bool) (l loaded, problems error, err error) {
	path, explicit, err := a.resolveConfigPath()
	if err != nil {
		return loaded{}, nil, err
	}
	l = loaded{path: path, cfg: config.Default()}
	var found config.Errors
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		l.fromFile = true
		cfg, err := config.Parse(bytes.NewReader(data))
		if es, ok := config.AsErrors(err); ok {
			found = es
		} else if err != nil {
			problems = exitf(ExitUsage, "%s: %w", path, err)
			cfg = config.Salvage(data)
		}
		l.cfg = cfg
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		if !awsProfiles {
			break
		}
		l.cfg.Profiles, l.cfg.DefaultProfile, l.skipped, err = a.zeroConfigProfiles()
		if err != nil {
			return l, nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return l, nil, exitf(ExitUsage, "config file %s does not exist: create it (see docs/configuration.md) or drop --config/CREDD_CONFIG to serve ~/.aws/config", path)
	default:
		return l, nil, exitf(ExitUsage, "reading config: %w", err)
	}
	found = append(found, a.applyOverrides(&l.cfg)...)
	if l.cfg.StateDir == "" {
		dir, err := config.DefaultStateDir(a.io.Getenv)
		if err != nil {
			return l, nil, exitf(ExitUsage, "finding a state directory: %w; set state_dir in the config", err)
		}
		l.cfg.StateDir = dir
	}
	if problems == nil && len(found) > 0 {
		problems = found
	}
	return l, problems, nil
}

// resolveConfigPath: --config, then CREDD_CONFIG, then the per-OS default.
func (a *app) resolveConfigPath() (path string, explicit bool, err error) {
	if a.configPath != "" {
		return a.configPath, true, nil
	}
	if p := a.io.Getenv("CREDD_CONFIG"); p != "" {
		return p, true, nil
	}
	path, err = config.DefaultPath(a.io.Getenv)
	if err != nil {
		return "", false, exitf(ExitUsage, "finding the config directory: %w; pass --config", err)
	}
	return path, false, nil
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

// zeroConfigProfiles serves every profile of the shared AWS files under its
// own name; the default is AWS_PROFILE, else "default".
func (a *app) zeroConfigProfiles() (map[string]config.Profile, string, []string, error) {
	paths, err := a.awsFiles()
	if err != nil {
		return nil, "", nil, err
	}
	files, err := awsfile.Read(paths)
	if err != nil {
		return nil, "", nil, exitf(ExitUsage, "reading the AWS config files: %w", err)
	}
	profiles, def, skipped := config.AWSProfiles(files.Profiles(), a.io.Getenv("AWS_PROFILE"))
	return profiles, def, skipped, nil
}

// awsFiles locates the shared AWS config and credentials files as the SDKs
// do: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/.
func (a *app) awsFiles() (awsfile.Paths, error) {
	p := awsfile.Paths{Config: a.io.Getenv("AWS_CONFIG_FILE"), Credentials: a.io.Getenv("AWS_SHARED_CREDENTIALS_FILE")}
	if p.Config != "" && p.Credentials != "" {
		return p, nil
	}
	home, err := config.HomeDir(a.io.Getenv)
	if err != nil {
		return p, fmt.Errorf("finding the home directory: %w", err)
	}
	if p.Config == "" {
		p.Config = filepath.Join(home, ".aws", "config")
	}
	if p.Credentials == "" {
		p.Credentials = filepath.Join(home, ".aws", "credentials")
	}
	return p, nil
}
