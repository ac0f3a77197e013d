package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/install"
	"github.com/credd/credd/store"
)

// serviceFlags are the flags of one `credd service ...` invocation.
type serviceFlags struct {
	system  bool
	binary  string
	runAs   string
	print   bool
	noStart bool
	purge   bool
	yes     bool
	logFile string
}

// Timeouts of the service commands.
const (
	// serviceStopTimeout bounds a stop under the Windows service manager;
	// the daemon drains in-flight requests for up to 10 s.
	serviceStopTimeout = 15 * time.Second
	// healthWait is how long start and install wait for the daemon to answer.
	healthWait = 10 * time.Second
)

func (a *app) serviceCmd() *cobra.Command {
	sf := &serviceFlags{}
	c := &cobra.Command{
		Use:   "service",
		Short: "Run credd as an OS service: install, uninstall, start, stop, restart, status",
		Long: `Run credd as an OS service, user-level by default: a systemd user unit on
Linux, a launchd agent on macOS, a Task Scheduler logon task on Windows.
--system installs a system service instead (a systemd system unit or launchd
daemon that runs as you, or a Windows service). docs/install.md has the details.`,
	}
	c.PersistentFlags().BoolVar(&sf.system, "system", false, "a system service (starts at boot; needs root or an elevated prompt) instead of a user service")

	installCmd := &cobra.Command{
		Use:   "install",
		Short: "Install (or update) the service and start it",
		Long: `Install the service, or update its definition if it is installed, and start
it. The definition runs this credd binary (or --binary) with the config file
pinned by absolute path. Installing twice updates, never duplicates.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serviceInstall(cmd, sf) },
	}
	installCmd.Flags().StringVar(&sf.binary, "binary", "", "the credd executable the service runs (default: this one)")
	installCmd.Flags().StringVar(&sf.runAs, "user", "", "with --system on Linux and macOS: the account it runs as (default: $SUDO_USER, else you)")
	installCmd.Flags().BoolVar(&sf.print, "print", false, "print the service definition and install nothing")
	installCmd.Flags().BoolVar(&sf.noStart, "no-start", false, "install without starting it now")

	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop and remove the service; config and sessions stay unless --purge",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.serviceUninstall(cmd, sf) },
	}
	uninstall.Flags().BoolVar(&sf.purge, "purge", false, "also delete the config file, the state directory (client token, session files), the sessions in the OS keyring and the logs")
	uninstall.Flags().BoolVarP(&sf.yes, "yes", "y", false, "with --purge: do not ask for confirmation")

	control := func(verb, short string, do func(install.Manager, context.Context) error, wantRunning bool) *cobra.Command {
		return &cobra.Command{
			Use:   verb,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				s, err := a.serviceSetup(cmd, sf)
				if err != nil {
					return err
				}
				if err := do(s.m, cmd.Context()); err != nil {
					return serviceError(fmt.Errorf("%s: %w", verb, err))
				}
				if !wantRunning {
					fmt.Fprintf(a.io.Out, "stopped (%s %s)\n", s.m.Kind(), s.m.Where())
					return nil
				}
				return a.awaitHealthy(cmd.Context(), s)
			},
		}
	}
	run := &cobra.Command{
		Use:    "run",
		Short:  "Run the daemon as the service manager does (what the Windows task and service run)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(cmd *cobra.Command, _ []string) error { return a.serviceRun(cmd, sf) },
	}
	run.Flags().StringVar(&sf.logFile, "log-file", "", "append the logs to this file instead of standard error")

	status := &cobra.Command{
		Use:   "status",
		Short: "Tell whether the service is installed and running, and how the daemon is (through its control socket)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.serviceStatus(cmd, sf) },
	}
	c.AddCommand(installCmd, uninstall,
		control("start", "Start the service", install.Manager.Start, true),
		control("stop", "Stop the service (it starts again at the next login or boot)", install.Manager.Stop, false),
		control("restart", "Restart the service", install.Manager.Restart, true),
		status, run)
	return c
}

// serviceSetup is a service Manager with what the commands tell the user.
type serviceSetup struct {
	install.Plan
	m      install.Manager
	loaded config.Loaded
	// daemon is the daemon of the configured state dir, asked over its
	// control socket: the daemon's own word, not any process that happens
	// to answer on the listen port.
	daemon *control.Client
	socket string
}

// serviceSetup loads and validates the configuration (a service must not
// crash-loop on a bad one) and builds the Manager for this OS and scope
// (install.NewPlan) from the global flags given on this command line.
func (a *app) serviceSetup(cmd *cobra.Command, sf *serviceFlags) (*serviceSetup, error) {
	l, err := a.load()
	if err != nil {
		return nil, err
	}
	sh := install.Shell{OS: runtime.GOOS, Binary: sf.binary, CheckBinary: cmd.Name() == "install", Config: l, RunAs: sf.runAs,
		UserName: config.UserName(a.io.Getenv), UID: os.Getuid(), Getenv: a.io.Getenv, Environ: a.io.Environ()}
	if sf.system {
		sh.Scope = install.System
	}
	for _, name := range []string{"listen", "state-dir", "log-level", "log-format"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			sh.Flags = append(sh.Flags, [2]string{name, f.Value.String()})
		}
	}
	s := &serviceSetup{loaded: l, socket: control.SocketPath(l.Config.StateDir), daemon: control.NewClient(l.Config.StateDir)}
	if s.Plan, err = install.NewPlan(sh); err != nil {
		return nil, err
	}
	s.m, err = s.Plan.Manager(runtime.GOOS)
	return s, err
}

func (a *app) serviceInstall(cmd *cobra.Command, sf *serviceFlags) error {
	s, err := a.serviceSetup(cmd, sf)
	if err != nil {
		return err
	}
	for _, n := range s.Notes {
		fmt.Fprintf(a.io.Err, "note: %s\n", n)
	}
	if sf.print {
		def, err := s.m.Definition()
		if err != nil {
			return exitf(ExitFailure, "%w", err)
		}
		_, err = a.io.Out.Write(def)
		return err
	}
	if strings.Contains(s.Definition.Command[0], "/Cellar/") {
		fmt.Fprintln(a.io.Err, "note: this binary lives in a versioned Homebrew directory that an upgrade removes: prefer `brew services start credd`, or pass --binary \"$(brew --prefix)/bin/credd\"")
	}
	o, err := install.InstallAndStart(cmd.Context(), s.m, !sf.noStart)
	if o.Installed {
		fmt.Fprintf(a.io.Out, "%s %s %s\n  runs: %s\n", o.Verb(), s.m.Kind(), s.m.Where(), strings.Join(s.Definition.Command, " "))
	}
	switch {
	case err != nil:
		return serviceError(err)
	case o.Run == "":
		fmt.Fprintln(a.io.Out, "not started (--no-start): `credd service start` starts it")
	case o.Run == "already running":
		fmt.Fprintln(a.io.Out, "already running")
	default:
		return a.awaitHealthy(cmd.Context(), s)
	}
	return nil
}

// awaitHealthy waits for the daemon to answer on its control socket after
// a start.
func (a *app) awaitHealthy(ctx context.Context, s *serviceSetup) error {
	ctx, cancel := context.WithTimeout(ctx, healthWait)
	defer cancel()
	st, err := s.daemon.AwaitStatus(ctx, 200*time.Millisecond)
	if err != nil {
		return exitf(ExitFailure, "the service started, but the daemon does not answer on %s (%w): see its logs: %s", s.socket, err, s.m.Logs())
	}
	fmt.Fprintf(a.io.Out, "running: the daemon answers on %s: %s\n", s.socket, st.Summary(time.Now()))
	return nil
}

func serviceError(err error) error {
	if errors.Is(err, install.ErrNotInstalled) {
		return exitf(ExitNotRunning, "%w: run `credd service install` first", err)
	}
	return exitf(ExitFailure, "%w", err)
}

func (a *app) serviceUninstall(cmd *cobra.Command, sf *serviceFlags) error {
	s, err := a.serviceSetup(cmd, sf)
	if err != nil {
		return err
	}
	err = s.m.Uninstall(cmd.Context())
	switch {
	case errors.Is(err, install.ErrNotInstalled):
		fmt.Fprintf(a.io.Out, "not installed (%s %s): nothing to remove\n", s.m.Kind(), s.m.Where())
	case err != nil:
		return exitf(ExitFailure, "uninstalling the service: %w", err)
	default:
		fmt.Fprintf(a.io.Out, "stopped and removed %s %s\n", s.m.Kind(), s.m.Where())
	}
	if !sf.purge {
		fmt.Fprintf(a.io.Out, "kept: %s and the sessions in the session store (`credd service uninstall --purge` deletes them)\n", strings.Join(s.Purge, ", "))
		return nil
	}
	stores, problems := a.sessionStores(cmd.Context(), s.loaded.Config)
	return a.purge(cmd.Context(), s.Purge, stores, problems, sf.yes)
}

// sessionStores opens the session stores that may hold credd's sessions
// under the configured session_store, as serve chooses them, without
// creating anything (store.Existing).
func (a *app) sessionStores(ctx context.Context, cfg config.Config) (stores []store.Store, problems []string) {
	stores, problems, notes := store.Existing(ctx, cfg.SessionStore, cfg.StateDir)
	for _, n := range notes {
		fmt.Fprintf(a.io.Err, "note: %s\n", n)
	}
	return stores, problems
}

// purge deletes credd's sessions from stores, then the config file, the
// state directory and the logs, after one confirmation.
func (a *app) purge(ctx context.Context, paths []string, stores []store.Store, problems []string, yes bool) error {
	p := store.PlanPurge(ctx, stores, paths, problems)
	if p.Empty() {
		fmt.Fprintln(a.io.Out, "nothing to purge")
		return nil
	}
	if what := p.What(); !yes && len(what) > 0 {
		fmt.Fprintf(a.io.Err, "This deletes:\n  %s\nDelete them? [y/N] ", strings.Join(what, "\n  "))
		answer, _ := bufio.NewReader(a.io.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return exitf(ExitUsage, "nothing deleted: answer y, or pass --yes")
		}
	}
	if err := p.Run(ctx, func(what string) { fmt.Fprintf(a.io.Out, "deleted %s\n", what) }); err != nil {
		return exitf(ExitFailure, "purging: %w", err)
	}
	return nil
}

func (a *app) serviceStatus(cmd *cobra.Command, sf *serviceFlags) error {
	s, err := a.serviceSetup(cmd, sf)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	st, stErr := s.m.Status(ctx)
	line := st.State.String()
	if st.Detail != "" {
		line += " (" + st.Detail + ")"
	}
	if stErr != nil {
		line += ": " + stErr.Error()
	}
	if st.State == install.StateNotInstalled {
		fmt.Fprintf(a.io.Out, "service: not installed (%s %s)\n", s.m.Kind(), s.m.Where())
	} else {
		fmt.Fprintf(a.io.Out, "service: installed, %s (%s %s)\n", line, s.m.Kind(), s.m.Where())
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ds, derr := s.daemon.Status(dctx)
	outside := ""
	if st.State == install.StateNotInstalled || st.State == install.StateStopped {
		outside = ", but not from the service: a credd started outside it?"
	}
	switch {
	case derr == nil:
		fmt.Fprintf(a.io.Out, "daemon:  %s%s\n", ds.Summary(time.Now()), outside)
		for _, l := range ds.SignIns(s.loaded.Config.LoginCommand) {
			fmt.Fprintf(a.io.Out, "sign-in: %s\n", l)
		}
	case errors.Is(derr, control.ErrNotRunning):
		fmt.Fprintf(a.io.Out, "daemon:  not running (no answer on %s)\n", s.socket)
	default:
		fmt.Fprintf(a.io.Out, "daemon:  not answering on %s: %v\n", s.socket, derr)
	}
	if st.State != install.StateNotInstalled {
		fmt.Fprintf(a.io.Out, "logs:    %s\n", s.m.Logs())
	}
	switch {
	case st.State == install.StateNotInstalled:
		return exitf(ExitNotRunning, "not installed: `credd service install` installs and starts it")
	case st.State == install.StateStopped:
		return exitf(ExitNotRunning, "stopped: `credd service start` starts it")
	case st.State == install.StateRunning && derr != nil:
		return exitf(ExitFailure, "the service runs, but its daemon does not answer on %s: see its logs (%s); if it was given another state dir than this shell resolves, `credd service install --print` shows its command line", s.socket, s.m.Logs())
	case st.State != install.StateRunning:
		return exitf(ExitFailure, "the service manager cannot tell whether it runs: see its logs: %s", s.m.Logs())
	}
	return nil
}

// serviceRun runs the daemon as the service manager does: the same code as
// `credd serve` (its command, with the service's context), under the
// Windows service control manager's Start/Stop protocol when Windows runs
// it as a service, else in the foreground, restarted after failures (Task
// Scheduler restarts nothing that exits). --log-file replaces standard
// error, which a task or service does not have.
func (a *app) serviceRun(cmd *cobra.Command, sf *serviceFlags) error {
	if sf.logFile != "" {
		f, err := install.OpenLog(sf.logFile)
		if err != nil {
			return exitf(ExitFailure, "%w", err)
		}
		defer f.Close()
		a.io.Err, a.io.ErrIsTerminal = f, false
	}
	log, err := a.logger()
	if err != nil {
		return err
	}
	serve := func(ctx context.Context) error {
		c := a.serveCmd()
		c.SetContext(ctx)
		return c.RunE(c, nil)
	}
	supervised := func(ctx context.Context) error {
		return install.Supervise(ctx, serve, func(err error, wait time.Duration) {
			log.Error("the daemon stopped; starting it again", "error", err, "retry_in", wait.String())
		})
	}
	err = install.RunManaged(cmd.Context(), supervised, serviceStopTimeout)
	if err != nil {
		log.Error("credd service stopped", "error", err)
	}
	return err
}
