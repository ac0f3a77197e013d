package install

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
)

// toolTimeout bounds one systemctl, launchctl or schtasks call.
const toolTimeout = 30 * time.Second

// Shell is what `credd service` is run with: its flags, the configuration
// it loaded, and the shell's environment, which a service manager's
// environment need not share.
type Shell struct {
	OS    string // runtime.GOOS
	Scope Scope
	// Binary is --binary ("" is this executable); CheckBinary refuses one a
	// service must not pin (Binary). Only install writes it, so only
	// install checks it.
	Binary      string
	CheckBinary bool
	Config      config.Loaded
	// Flags are the global flags given on this command line that the
	// service keeps, by name without dashes ("listen", "state-dir",
	// "log-level", "log-format") with their values as given, in that order.
	Flags [][2]string
	// RunAs is --user: the account a system service runs as on Linux and
	// macOS (default: SUDO_USER, else UserName).
	RunAs    string
	UserName string // this user's name
	UID      int    // this user's numeric id (the launchd domain gui/<UID>)
	Getenv   func(string) string
	Environ  []string
	// Run runs the service manager's tools; nil runs them from the
	// shell's PATH (ExecRunner).
	Run Runner
}

// Plan is a service definition with where its manager lives, and what the
// user should be told about it.
type Plan struct {
	Definition Definition
	Env        Env
	// Notes are warnings about the definition: what of this shell does
	// not reach the service, and what was pinned so that it does.
	Notes []string
	// Purge lists what `uninstall --purge` deletes besides the sessions:
	// the config file, the state directory and the logs.
	Purge []string
}

// NewPlan resolves s into a definition (NewDefinition): the binary, the
// config file's absolute path, the flags, and the state directory that the
// shell's XDG_STATE_HOME decides, which the service would not find
// without it.
func NewPlan(s Shell) (Plan, error) {
	l, getenv := s.Config, s.Getenv
	spec := Spec{OS: s.OS, Scope: s.Scope, StateDir: l.Config.StateDir}
	var p Plan
	var err error
	if spec.Binary, err = Binary(s.Binary, s.CheckBinary); err != nil {
		return p, err
	}
	shellConfig, bareConfig := xdgDirs(config.UserConfigDir, getenv, "XDG_CONFIG_HOME")
	if l.FromFile {
		if spec.ConfigFile, err = filepath.Abs(l.Path); err != nil {
			return p, cred.Errorf(cred.ErrInvalid, "config path %s: %w", l.Path, err)
		}
	} else if s.OS != "windows" || s.Scope != System {
		note := fmt.Sprintf("no config file at %s: the service serves the profiles of ~/.aws/config; after you create one, run `credd service install` again to pin it", l.Path)
		if shellConfig != bareConfig {
			note += fmt.Sprintf(" (until then the service, which need not have this shell's XDG_CONFIG_HOME=%s, looks for %s)", getenv("XDG_CONFIG_HOME"), filepath.Join(bareConfig, "credd", "config.yaml"))
		}
		p.Notes = append(p.Notes, note)
	}
	stateDirFlag := false
	for _, f := range s.Flags {
		v := f[1]
		if f[0] == "state-dir" {
			v, _ = filepath.Abs(v)
			stateDirFlag = true
		}
		spec.Flags = append(spec.Flags, "--"+f[0], v)
	}
	// A state dir that XDG_STATE_HOME decides is pinned, so the service and
	// the CLI meet at the same control socket and token.
	shellState, bareState := xdgDirs(config.DefaultStateDir, getenv, "XDG_STATE_HOME")
	if shellState != bareState && l.Config.StateDir == shellState && !stateDirFlag && !l.SetsStateDir {
		spec.Flags = append(spec.Flags, "--state-dir", shellState)
		p.Notes = append(p.Notes, fmt.Sprintf("XDG_STATE_HOME=%s in this shell puts the state dir at %s, not %s: pinned with --state-dir, so the service uses it too (or set state_dir in the config file and run `credd service install` again)",
			getenv("XDG_STATE_HOME"), shellState, bareState))
	}
	// XDG_CONFIG_HOME decides where a systemd user unit goes.
	if shellConfig != bareConfig && s.OS == "linux" && s.Scope == User {
		p.Notes = append(p.Notes, fmt.Sprintf("XDG_CONFIG_HOME=%s in this shell: the unit goes to %s, which systemd reads only if your user manager has the same XDG_CONFIG_HOME (`systemctl --user show-environment`)",
			getenv("XDG_CONFIG_HOME"), filepath.Join(shellConfig, "systemd", "user")))
	}
	var unpinned []string
	for _, kv := range s.Environ {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CREDD_") && k != "CREDD_CONFIG" && k != "CREDD_REQUIRE_PEERS" {
			unpinned = append(unpinned, k)
		}
	}
	if len(unpinned) > 0 {
		slices.Sort(unpinned)
		p.Notes = append(p.Notes, fmt.Sprintf("%s set in this shell do(es) not reach the service: put the setting in the config file", strings.Join(unpinned, ", ")))
	}
	if u, err := user.Current(); err == nil && s.OS == "windows" {
		spec.UserID = u.Uid // the SID
	}
	if p.Env, err = s.env(); err != nil {
		return p, err
	}
	spec.Home = p.Env.HomeDir
	if s.Scope == System {
		spec.UserName = cmp.Or(s.RunAs, getenv("SUDO_USER"), s.UserName)
	}
	if p.Definition, err = NewDefinition(spec); err != nil {
		return p, err
	}
	if l.FromFile {
		p.Purge = append(p.Purge, l.Path)
	}
	p.Purge = append(p.Purge, l.Config.StateDir)
	if s.OS == "darwin" && p.Definition.LogDir != "" {
		p.Purge = append(p.Purge, p.Definition.LogDir)
	}
	return p, nil
}

// env is where the service's manager lives.
func (s Shell) env() (Env, error) {
	home, err := config.HomeDir(s.Getenv)
	if err != nil {
		return Env{}, cred.Errorf(cred.ErrInvalid, "finding the home directory: %w", err)
	}
	configHome, err := config.UserConfigDir(s.Getenv)
	if err != nil {
		return Env{}, cred.Errorf(cred.ErrInvalid, "finding the config directory: %w", err)
	}
	run := s.Run
	if run == nil {
		run = ExecRunner(s.Getenv("PATH"), s.Environ, toolTimeout)
	}
	return Env{HomeDir: home, ConfigHome: configHome, UID: s.UID, Run: run}, nil
}

// xdgDirs is the directory dir resolves in this shell, and the one it
// would without the variable xdg, as a service manager's environment may
// be (the same where XDG does not apply, or where either cannot be found).
func xdgDirs(dir func(func(string) string) (string, error), getenv func(string) string, xdg string) (shell, bare string) {
	shell, err1 := dir(getenv)
	bare, err2 := dir(func(k string) string {
		if k == xdg {
			return ""
		}
		return getenv(k)
	})
	if err1 != nil || err2 != nil {
		return "", ""
	}
	return shell, bare
}

// Manager is the plan's Manager for its OS (New); an OS without a
// supported service manager is an error of kind cred.ErrInvalid.
func (p Plan) Manager(goos string) (Manager, error) {
	m, err := New(p.Definition, p.Env)
	if errors.Is(err, ErrUnsupported) {
		return nil, cred.Errorf(cred.ErrInvalid, "%w (%s): run `credd serve` under your own supervisor", err, goos)
	}
	return m, err
}

// Outcome is what InstallAndStart did.
type Outcome struct {
	Before    State // the service's state before
	Installed bool  // the definition is in place
	Changed   bool  // it was written: new, or different from the installed one
	// Run is what was done to run it: "started", "restarted" (it ran with
	// the old definition), "already running", or "" when not asked to.
	Run string
}

// Verb says what happened to the definition.
func (o Outcome) Verb() string {
	switch {
	case !o.Changed:
		return "already installed, unchanged:"
	case o.Before != StateNotInstalled:
		return "updated"
	}
	return "installed"
}

// InstallAndStart installs or updates the service, then with start makes
// it run the definition: started, restarted if it ran an older one, left
// alone if it runs this one.
func InstallAndStart(ctx context.Context, m Manager, start bool) (Outcome, error) {
	before, _ := m.Status(ctx)
	o := Outcome{Before: before.State}
	changed, err := m.Install(ctx)
	if err != nil {
		return o, fmt.Errorf("installing the service: %w", err)
	}
	o.Installed, o.Changed = true, changed
	switch {
	case !start:
		return o, nil
	case before.State == StateRunning && changed:
		o.Run, err = "restarted", m.Restart(ctx)
	case before.State == StateRunning:
		o.Run = "already running"
	default:
		o.Run, err = "started", m.Start(ctx)
	}
	if err != nil {
		return o, fmt.Errorf("start: %w", err)
	}
	return o, nil
}
