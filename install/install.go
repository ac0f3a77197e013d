// Package install puts credd under the operating system's service manager:
// a systemd unit on Linux, a launchd agent or daemon on macOS, and on
// Windows a Task Scheduler task (per user) or a Windows service (system).
//
// It owns two things. The service definitions: what the service runs, per
// OS (NewDefinition, from a Spec the command line resolves), and the
// files generated from it by pure functions of a Definition (SystemdUnit,
// LaunchdPlist, TaskXML, WindowsService), so that every OS's output is
// golden-tested on every OS; and the Managers that write a definition to
// its place and drive the service manager's own tool (systemctl,
// launchctl, schtasks; the Windows service control manager through
// github.com/kardianos/service). Program adapts a daemon's Run(ctx) to the
// service manager's Start/Stop contract, and OpenLog keeps its log where
// the manager gives it no standard error.
//
// NewPlan resolves what `credd service` was run with (a Shell: its
// flags, configuration and environment) into a Definition, the notes the
// user reads about it and what a purge deletes; InstallAndStart is the
// install command's sequence. Nothing here reads flags or the process's
// environment: the command line passes them in.
package install

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/credd/credd/atomicfile"
)

// Fixed names of the installed service.
const (
	// Name is the systemd unit's base name, the Task Scheduler task and the
	// Windows service name.
	Name = "credd"
	// Label is the launchd label (reverse DNS, as launchd expects).
	Label = "com.github.credd.credd"
	// Description is the human-readable description in every definition.
	Description = "credd: local AWS credential daemon"
)

// Scope says whose service it is.
type Scope int

const (
	// User services start at the user's login and run as the user: a
	// systemd user unit, a launchd agent, a Task Scheduler logon task.
	User Scope = iota
	// System services start at boot: a systemd system unit or launchd
	// daemon that runs as a named user, or a Windows service.
	System
)

func (s Scope) String() string {
	if s == System {
		return "system"
	}
	return "user"
}

// Definition is everything a service definition is generated from. Every
// path is absolute; the generators do no I/O.
type Definition struct {
	Scope Scope
	// Command is the absolute path of the credd executable, then its
	// arguments (serve --config ...).
	Command []string
	// UserName is the account a System service runs as on Linux and macOS.
	UserName string
	// UserID is the Windows account (SID or DOMAIN\user) whose logon starts
	// the user task and under which it runs.
	UserID string
	// LogDir is where launchd writes the daemon's output (macOS), e.g.
	// ~/Library/Logs/credd.
	LogDir string
}

// State is what the service manager says about the service.
type State int

const (
	StateUnknown State = iota // installed, but the manager could not tell
	StateNotInstalled
	StateStopped
	StateRunning
)

func (s State) String() string {
	switch s {
	case StateNotInstalled:
		return "not installed"
	case StateStopped:
		return "stopped"
	case StateRunning:
		return "running"
	}
	return "unknown"
}

// Status is a service's state with the manager's own words about it.
type Status struct {
	State State
	// Detail is the manager's extra word, e.g. "failed" or "last exit code = 2".
	Detail string
}

// Manager installs and drives one service definition. Install writes (or
// rewrites) the definition and registers it to start at login or boot, but
// does not start it; Uninstall stops the service first and leaves the
// user's configuration and sessions alone.
type Manager interface {
	// Kind names the mechanism, e.g. "systemd user unit".
	Kind() string
	// Where is the definition's place: a file, or a task or service name.
	Where() string
	// Definition is the definition as Install writes it.
	Definition() ([]byte, error)
	// Install writes the definition; changed is false when the installed one
	// was already identical. Installing twice never duplicates anything.
	Install(ctx context.Context) (changed bool, err error)
	// Uninstall stops and removes the service; ErrNotInstalled if absent.
	Uninstall(ctx context.Context) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
	Status(ctx context.Context) (Status, error)
	// Logs tells the user where the daemon's logs are.
	Logs() string
}

// ErrNotInstalled is returned when the service is not installed.
var ErrNotInstalled = errors.New("the credd service is not installed")

// ErrUnsupported is returned on operating systems without a supported
// service manager.
var ErrUnsupported = errors.New("no supported service manager on this system")

// Env is where a Manager lives: the user's directories and how it runs the
// service manager's tools. Only the fields its OS needs are read.
type Env struct {
	// HomeDir is the user's home directory.
	HomeDir string
	// ConfigHome is $XDG_CONFIG_HOME (default ~/.config); systemd user units
	// go to ConfigHome/systemd/user.
	ConfigHome string
	// UID is the user's numeric id: the launchd domain gui/<UID>.
	UID int
	// Run runs the service manager's tools; nil is not allowed.
	Run Runner
}

// writeIfChanged writes data to path (temp file + rename) unless the file
// already holds exactly data.
func writeIfChanged(path string, data []byte, perm os.FileMode) (changed bool, err error) {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	if err := atomicfile.Write(path, data, perm); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	return true, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
