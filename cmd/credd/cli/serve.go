package cli

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/daemon"
)

// shadowingVars make the AWS SDK ignore the profile credd asks it to
// resolve (environment credentials win over profiles), or point it back at
// credd itself. serve drops them from its own environment.
var shadowingVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}

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
				log.Warn("ignoring an environment variable credd does not know", "variable", u.name, "did_you_mean", u.closest)
			}
			l, err := a.load()
			if err != nil {
				return err
			}
			if l.fromFile {
				if err := daemon.CheckPrivate(l.path); err != nil {
					return exitf(ExitUsage, "refusing to start: %w", err)
				}
			} else {
				log.Info("no config file: serving the profiles of the shared AWS config", "config", l.path, "profiles", len(l.cfg.Profiles), "default_profile", l.cfg.DefaultProfile)
				if len(l.skipped) > 0 {
					log.Warn("AWS profiles with names credd cannot serve were skipped", "profiles", strings.Join(l.skipped, ", "))
				}
			}
			for _, v := range shadowingVars {
				if a.io.Getenv(v) != "" && a.io.Unsetenv != nil {
					log.Warn("ignoring a variable that would override the configured profiles", "variable", v)
					_ = a.io.Unsetenv(v)
				}
			}
			// The state dir holds the token and the control socket: only
			// its owner may enter it.
			was, tightened, err := control.PrepareDir(l.cfg.StateDir)
			if err != nil {
				return exitf(ExitUsage, "refusing to start: %w", err)
			}
			if tightened {
				log.Warn("the state dir was open to group or others: made it private (0700)", "dir", l.cfg.StateDir, "mode_was", fmt.Sprintf("%04o", was))
			}
			unlock, err := daemon.Lock(l.cfg.StateDir)
			if err != nil {
				return exitf(ExitUsage, "refusing to start: %w", err)
			}
			defer unlock()
			removed, err := daemon.RemoveStaleTemps(l.cfg.StateDir)
			if len(removed) > 0 {
				log.Info("removed the temporary files an earlier credd left", "dir", l.cfg.StateDir, "files", removed)
			}
			if err != nil {
				log.Warn("could not remove the temporary files an earlier credd left", "dir", l.cfg.StateDir, "error", err)
			}
			_, token, err := daemon.EnsureToken(l.cfg.StateDir)
			if err != nil {
				return exitf(ExitUsage, "refusing to start: %w", err)
			}
			sessions, err := a.openStore(cmd.Context(), l.cfg, log)
			if err != nil {
				return err
			}
			awsFiles, err := a.awsFiles()
			if err != nil {
				return exitf(ExitUsage, "%w", err)
			}
			auditLog, err := audit.Open(audit.Options{Path: filepath.Join(l.cfg.StateDir, AuditFile)})
			if err != nil {
				return exitf(ExitUsage, "refusing to start: %v", err)
			}
			defer auditLog.Close()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			home, _ := homeDir(a.io.Getenv) // none: the AWS CLI's SSO cache is not shared
			deps := daemon.Deps{
				Logger:      log,
				Registerer:  reg,
				Gatherer:    reg,
				UserName:    currentUser(a.io.Getenv),
				ClientToken: token,
				Sessions:    sessions,
				// The SDK would read AWS_CONFIG_FILE itself; cmd owns the
				// environment, so it says where the files are.
				AWSConfigFiles:     []string{awsFiles.Config},
				AWSCredentialFiles: []string{awsFiles.Credentials},
				Secret:             a.io.Getenv,
				Notifier:           a.notifier(),
				HomeDir:            home,
				Audit:              auditLog,
				// A reload reads everything again, as a start would: the
				// file (or, with none, the profiles of the shared AWS
				// config, listed anew), the environment and flags; and a
				// config file others may now write is refused, as at start.
				LoadConfig: func() (config.Config, error) {
					nl, err := a.load()
					if nl.fromFile {
						if perr := daemon.CheckPrivate(nl.path); perr != nil {
							return nl.cfg, perr
						}
					}
					return nl.cfg, err
				},
			}
			if l.fromFile {
				deps.ConfigPath = l.path
			}
			d, err := daemon.New(cmd.Context(), l.cfg, deps)
			if err != nil {
				return err
			}
			ctl, err := control.Listen(l.cfg.StateDir)
			if err != nil {
				return exitf(ExitUsage, "refusing to start: %w", err)
			}
			lns, err := daemon.Listen(l.cfg)
			if err != nil {
				ctl.Close()
				return exitf(ExitFailure, "%w", err)
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Go(func() {
				if err := control.Serve(ctx, ctl, d.ControlBackend(daemon.ControlInfo{Version: version(), ConfigPath: l.path}), log.With("component", "control")); err != nil {
					log.Error("control socket stopped", "error", err)
				}
			})
			hup := make(chan os.Signal, 1)
			stopHUP := notifyReload(hup)
			defer stopHUP()
			wg.Go(func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						if err := d.Reload(ctx, "SIGHUP"); err != nil && ctx.Err() == nil {
							log.Error("reload failed", "error", err)
						}
					}
				}
			})
			log.Info("credd started", "version", version(), "profiles", len(l.cfg.Profiles), "state_dir", l.cfg.StateDir, "control", control.SocketPath(l.cfg.StateDir))
			err = d.Run(ctx, lns...)
			cancel()
			if err != nil {
				return fmt.Errorf("daemon stopped: %w", err)
			}
			log.Info("credd stopped")
			return nil
		},
	}
}

// currentUser is the local user name, the default role session name.
func currentUser(getenv func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return "credd"
}
