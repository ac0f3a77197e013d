package cli

import (
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/source"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon in the foreground (what the OS service runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := a.logger()
			if err != nil {
				return err
			}
			for _, u := range a.unknownEnv() {
				log.Warn("ignoring an environment variable credd does not know", "variable", u.Name, "did_you_mean", u.Closest)
			}
			l, err := a.load()
			if err != nil {
				return err
			}
			if !l.FromFile {
				log.Info("no config file: serving the profiles of the shared AWS config", "config", l.Path, "profiles", len(l.Config.Profiles), "default_profile", l.Config.DefaultProfile)
				if len(l.Skipped) > 0 {
					log.Warn("AWS profiles with names credd cannot serve were skipped", "profiles", strings.Join(l.Skipped, ", "))
				}
			}
			for _, v := range source.ShadowingVars() {
				if a.io.Getenv(v) != "" && a.io.Unsetenv != nil {
					log.Warn("ignoring a variable that would override the configured profiles", "variable", v)
					_ = a.io.Unsetenv(v)
				}
			}
			awsFiles, err := config.AWSFiles(a.io.Getenv)
			if err != nil {
				return exitf(ExitUsage, "%w", err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			home, _ := config.HomeDir(a.io.Getenv) // none: the AWS CLI's SSO cache is not shared
			deps := daemon.Deps{
				Logger:     log,
				Registerer: reg,
				Gatherer:   reg,
				UserName:   config.UserName(a.io.Getenv),
				// The SDK would read AWS_CONFIG_FILE itself; cmd owns the
				// environment, so it says where the files are.
				AWSConfigFiles:     []string{awsFiles.Config},
				AWSCredentialFiles: []string{awsFiles.Credentials},
				Secret:             a.io.Getenv,
				Notifier:           a.notifier(),
				HomeDir:            home,
				LoginCacheDir:      a.io.Getenv("AWS_LOGIN_CACHE_DIRECTORY"),
				RequestWait:        a.io.RequestWait,
				// A reload reads everything again, as a start would: the
				// file (or, with none, the profiles of the shared AWS
				// config, listed anew), the environment and flags; and a
				// config file others may now write is refused, as at start.
				LoadConfig: func() (config.Config, error) {
					nl, err := a.load()
					if nl.FromFile {
						if perr := daemon.CheckPrivate(nl.Path); perr != nil {
							return nl.Config, perr
						}
					}
					return nl.Config, err
				},
			}
			if l.FromFile {
				deps.ConfigPath = l.Path // refused if others may write it, and watched
			}
			if a.canOpenBrowser() {
				deps.OpenBrowser = a.openURL // sign_in_on_demand: browser
			}
			hup := make(chan os.Signal, 1)
			stopHUP := notifyReload(hup)
			defer stopHUP()
			return daemon.Serve(cmd.Context(), l.Config, deps, daemon.ServeOptions{
				Info:   daemon.ControlInfo{Version: version(), ConfigPath: l.Path},
				Reload: hup,
			})
		},
	}
}
