package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
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
	// toolTimeout bounds one systemctl/launchctl/schtasks call.
	toolTimeout = 30 * time.Second
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
					return serviceError(verb, err)
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
	m      install.Manager
	def    install.Definition
	loaded config.Loaded
	// daemon asks the daemon of the configured state dir for its status
	// over its control socket: the daemon's own word, not any process that
	// happens to answer on the listen port.
	daemon func(ctx context.Context) (control.Status, error)
	socket string
	// notes are warnings about the definition, printed by install.
	notes []string
	// purge lists what `uninstall --purge` deletes.
	purge []string
}

// serviceSetup loads and validates the configuration (a service must not
// crash-loop on a bad one) and builds the Manager for this OS and scope.
// Only install checks the binary: the other commands do not write it.
func (a *app) serviceSetup(cmd *cobra.Command, sf *serviceFlags) (*serviceSetup, error) {
	l, err := a.load()
	if err != nil {
		return nil, err
	}
	s := &serviceSetup{loaded: l, socket: control.SocketPath(l.Config.StateDir)}
	s.daemon = control.NewClient(l.Config.StateDir).Status
	scope := install.User
	if sf.system {
		scope = install.System
	}
	s.def, s.notes, err = a.serviceDefinition(cmd, sf, scope, l)
	if err != nil {
		return nil, err
	}
	home, err := config.HomeDir(a.io.Getenv)
	if err != nil {
		return nil, exitf(ExitUsage, "finding the home directory: %w", err)
	}
	configHome, err := config.UserConfigDir(a.io.Getenv)
	if err != nil {
		return nil, exitf(ExitUsage, "finding the config directory: %w", err)
	}
	env := install.Env{
		HomeDir:    home,
		ConfigHome: configHome,
		UID:        os.Getuid(),
		Run:        install.ExecRunner(a.io.Getenv("PATH"), a.io.Environ(), toolTimeout),
	}
	s.m, err = install.New(s.def, env)
	if errors.Is(err, install.ErrUnsupported) {
		return nil, exitf(ExitUsage, "%w (%s): run `credd serve` under your own supervisor", err, runtime.GOOS)
	}
	if err != nil {
		return nil, exitf(ExitFailure, "%w", err)
	}
	if l.FromFile {
		s.purge = append(s.purge, l.Path)
	}
	s.purge = append(s.purge, l.Config.StateDir)
	if runtime.GOOS == "darwin" && s.def.LogDir != "" {
		s.purge = append(s.purge, s.def.LogDir)
	}
	return s, nil
}

// serviceDefinition builds the definition (install.NewDefinition) from the
// binary, the config file's absolute path, the global flags given on this
// command line and the XDG paths to pin, with notes on what does not reach
// the service.
func (a *app) serviceDefinition(cmd *cobra.Command, sf *serviceFlags, scope install.Scope, l config.Loaded) (install.Definition, []string, error) {
	var notes []string
	spec := install.Spec{OS: runtime.GOOS, Scope: scope, StateDir: l.Config.StateDir}
	var err error
	if spec.Binary, err = install.Binary(sf.binary, cmd.Name() == "install"); err != nil {
		return install.Definition{}, nil, err
	}
	if l.FromFile {
		if spec.ConfigFile, err = filepath.Abs(l.Path); err != nil {
			return install.Definition{}, nil, exitf(ExitUsage, "config path %s: %w", l.Path, err)
		}
	} else if runtime.GOOS != "windows" || scope != install.System {
		note := fmt.Sprintf("no config file at %s: the service serves the profiles of ~/.aws/config; after you create one, run `credd service install` again to pin it", l.Path)
		if shell, bare := a.configDirs(); shell != bare {
			note += fmt.Sprintf(" (until then the service, which need not have this shell's XDG_CONFIG_HOME=%s, looks for %s)", a.io.Getenv("XDG_CONFIG_HOME"), filepath.Join(bare, "credd", "config.yaml"))
		}
		notes = append(notes, note)
	}
	for _, name := range []string{"listen", "state-dir", "log-level", "log-format"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			v := f.Value.String()
			if name == "state-dir" {
				v, _ = filepath.Abs(v)
			}
			spec.Flags = append(spec.Flags, "--"+name, v)
		}
	}
	xdgArgs, xdgNotes := a.xdgPins(cmd, scope, l)
	spec.Flags = append(spec.Flags, xdgArgs...)
	notes = append(notes, xdgNotes...)
	var unpinned []string
	for _, kv := range a.io.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CREDD_") && k != "CREDD_CONFIG" && k != "CREDD_REQUIRE_PEERS" {
			unpinned = append(unpinned, k)
		}
	}
	if len(unpinned) > 0 {
		sort.Strings(unpinned)
		notes = append(notes, fmt.Sprintf("%s set in this shell do(es) not reach the service: put the setting in the config file", strings.Join(unpinned, ", ")))
	}
	if u, err := user.Current(); err == nil && runtime.GOOS == "windows" {
		spec.UserID = u.Uid // the SID
	}
	spec.Home, _ = config.HomeDir(a.io.Getenv)
	if scope == install.System {
		spec.UserName = cmp.Or(sf.runAs, a.io.Getenv("SUDO_USER"), currentUser(a.io.Getenv))
	}
	d, err := install.NewDefinition(spec)
	return d, notes, err
}

// xdgPins keeps the service on the paths this shell resolves through
// XDG_STATE_HOME and XDG_CONFIG_HOME (Linux and other XDG systems), which a
// service manager's environment need not have. A state dir that
// XDG_STATE_HOME decides is pinned with --state-dir, so the service and
// the CLI meet at the same control socket and token. XDG_CONFIG_HOME
// decides the config path only without a config file (a file is pinned by
// --config; serviceDefinition notes the other case), and where a systemd
// user unit goes, noted here.
func (a *app) xdgPins(cmd *cobra.Command, scope install.Scope, l config.Loaded) (args, notes []string) {
	withoutXDG := func(k string) string {
		if k == "XDG_STATE_HOME" {
			return ""
		}
		return a.io.Getenv(k)
	}
	shellState, err1 := config.DefaultStateDir(a.io.Getenv)
	bareState, err2 := config.DefaultStateDir(withoutXDG)
	if err1 == nil && err2 == nil && shellState != bareState && l.Config.StateDir == shellState &&
		!cmd.Flags().Changed("state-dir") && !l.SetsStateDir {
		args = append(args, "--state-dir", shellState)
		notes = append(notes, fmt.Sprintf("XDG_STATE_HOME=%s in this shell puts the state dir at %s, not %s: pinned with --state-dir, so the service uses it too (or set state_dir in the config file and run `credd service install` again)",
			a.io.Getenv("XDG_STATE_HOME"), shellState, bareState))
	}
	if shell, bare := a.configDirs(); shell != bare && runtime.GOOS == "linux" && scope == install.User {
		notes = append(notes, fmt.Sprintf("XDG_CONFIG_HOME=%s in this shell: the unit goes to %s, which systemd reads only if your user manager has the same XDG_CONFIG_HOME (`systemctl --user show-environment`)",
			a.io.Getenv("XDG_CONFIG_HOME"), filepath.Join(shell, "systemd", "user")))
	}
	return args, notes
}

// configDirs is the config directory this shell resolves, and the one a
// service without XDG_CONFIG_HOME would (the same where XDG does not apply
// or either cannot be found).
func (a *app) configDirs() (shell, bare string) {
	shell, err1 := config.UserConfigDir(a.io.Getenv)
	bare, err2 := config.UserConfigDir(func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return ""
		}
		return a.io.Getenv(k)
	})
	if err1 != nil || err2 != nil {
		return "", ""
	}
	return shell, bare
}

func (a *app) serviceInstall(cmd *cobra.Command, sf *serviceFlags) error {
	s, err := a.serviceSetup(cmd, sf)
	if err != nil {
		return err
	}
	for _, n := range s.notes {
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
	if strings.Contains(s.def.Command[0], "/Cellar/") {
		fmt.Fprintln(a.io.Err, "note: this binary lives in a versioned Homebrew directory that an upgrade removes: prefer `brew services start credd`, or pass --binary \"$(brew --prefix)/bin/credd\"")
	}
	ctx := cmd.Context()
	before, _ := s.m.Status(ctx)
	changed, err := s.m.Install(ctx)
	if err != nil {
		return exitf(ExitFailure, "installing the service: %w", err)
	}
	verb := "installed"
	switch {
	case before.State != install.StateNotInstalled && changed:
		verb = "updated"
	case !changed:
		verb = "already installed, unchanged:"
	}
	fmt.Fprintf(a.io.Out, "%s %s %s\n  runs: %s\n", verb, s.m.Kind(), s.m.Where(), strings.Join(s.def.Command, " "))
	if sf.noStart {
		fmt.Fprintln(a.io.Out, "not started (--no-start): `credd service start` starts it")
		return nil
	}
	switch {
	case before.State == install.StateRunning && changed:
		err = s.m.Restart(ctx)
	case before.State == install.StateRunning:
		fmt.Fprintln(a.io.Out, "already running")
		return nil
	default:
		err = s.m.Start(ctx)
	}
	if err != nil {
		return serviceError("start", err)
	}
	return a.awaitHealthy(ctx, s)
}

// awaitHealthy waits for the daemon to answer on its control socket after
// a start.
func (a *app) awaitHealthy(ctx context.Context, s *serviceSetup) error {
	ctx, cancel := context.WithTimeout(ctx, healthWait)
	defer cancel()
	for {
		st, err := s.daemon(ctx)
		if err == nil {
			fmt.Fprintf(a.io.Out, "running: the daemon answers on %s: %s\n", s.socket, daemonSummary(st, time.Now()))
			return nil
		}
		select {
		case <-ctx.Done():
			return exitf(ExitFailure, "the service started, but the daemon does not answer on %s (%w): see its logs: %s", s.socket, err, s.m.Logs())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// daemonSummary is one line about a running daemon: who it is and how its
// profiles are.
func daemonSummary(st control.Status, now time.Time) string {
	var who []string
	if st.PID > 0 {
		who = append(who, fmt.Sprintf("pid %d", st.PID))
	}
	if !st.Started.IsZero() && now.After(st.Started) {
		who = append(who, "up "+roundDur(now.Sub(st.Started)))
	}
	if st.Version != "" {
		who = append(who, "credd "+st.Version)
	}
	line := "running"
	if len(who) > 0 {
		line += " (" + strings.Join(who, ", ") + ")"
	}
	counts := map[string]int{}
	for _, p := range st.Profiles {
		counts[p.State]++
	}
	var parts []string
	for _, state := range []string{"fresh", "refreshing", "idle", "stale", "expired", "login-required", "mfa-required", "error"} {
		if n := counts[state]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, state))
			delete(counts, state)
		}
	}
	for _, state := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[state], state))
	}
	line += fmt.Sprintf(", %d profile(s)", len(st.Profiles))
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	return line
}

// signIns lists what needs a sign-in, each with the command that does it:
// sessions the daemon says need one, and profiles waiting for one (by the
// session or provider cfg gives them, else by name).
func signIns(st control.Status, cfg config.Config) (lines []string) {
	seen := map[string]bool{}
	add := func(what, cmd string) {
		if !seen[cmd] {
			seen[cmd] = true
			lines = append(lines, fmt.Sprintf("%s: run `%s`", what, cmd))
		}
	}
	for _, ss := range st.Sessions {
		if ss.State != "login-required" {
			continue
		}
		switch kind, name, _ := strings.Cut(ss.Name, "/"); kind {
		case "sso":
			add("session "+ss.Name, "credd login --sso-session "+name)
		case "oidc":
			add("session "+ss.Name, "credd login --provider "+name)
		}
	}
	for _, ps := range st.Profiles {
		if ps.State == "mfa-required" {
			add("profile "+ps.Name+" (MFA code)", "credd login --profile "+ps.Name)
			continue
		}
		if ps.State != "login-required" {
			continue
		}
		p := cfg.Profiles[ps.Name]
		switch {
		case p.SSOSession != "" && seen["credd login --sso-session "+p.SSOSession]:
		case p.IdentityProvider != "" && seen["credd login --provider "+p.IdentityProvider]:
		case p.SSOSession != "":
			add("profile "+ps.Name, "credd login --sso-session "+p.SSOSession)
		case p.IdentityProvider != "":
			add("profile "+ps.Name, "credd login --provider "+p.IdentityProvider)
		default:
			add("profile "+ps.Name, "credd login --profile "+ps.Name)
		}
	}
	return lines
}

func serviceError(verb string, err error) error {
	if errors.Is(err, install.ErrNotInstalled) {
		return exitf(ExitNotRunning, "%w: run `credd service install` first", err)
	}
	return exitf(ExitFailure, "%s: %w", verb, err)
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
		fmt.Fprintf(a.io.Out, "kept: %s and the sessions in the session store (`credd service uninstall --purge` deletes them)\n", strings.Join(s.purge, ", "))
		return nil
	}
	stores, problems := a.sessionStores(cmd.Context(), s.loaded.Config)
	return a.purge(cmd.Context(), s.purge, stores, problems, sf.yes)
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
	ds, derr := s.daemon(dctx)
	outside := ""
	if st.State == install.StateNotInstalled || st.State == install.StateStopped {
		outside = ", but not from the service: a credd started outside it?"
	}
	switch {
	case derr == nil:
		fmt.Fprintf(a.io.Out, "daemon:  %s%s\n", daemonSummary(ds, time.Now()), outside)
		for _, l := range signIns(ds, s.loaded.Config) {
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
