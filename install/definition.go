package install

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/private"
)

// Spec is what a service's definition is made of, as the command line
// resolved it from its flags, the environment and the configuration.
type Spec struct {
	// OS is the operating system the service runs on (runtime.GOOS).
	OS    string
	Scope Scope
	// Binary is the absolute path of the credd executable (Binary).
	Binary string
	// ConfigFile is the absolute path of the configuration file; "" when
	// there is none (the service serves the profiles of ~/.aws/config).
	ConfigFile string
	// Flags are the global flags the service keeps, in order:
	// --listen ADDR, --state-dir DIR, --log-level L, --log-format F.
	Flags []string
	// StateDir is the state directory, as resolved.
	StateDir string
	// Home is the user's home directory.
	Home string
	// UserName is the account a System service runs as on Linux and macOS.
	UserName string
	// UserID is the Windows account (a SID) whose logon starts the task.
	UserID string
}

// NewDefinition is spec's definition: `credd serve` with the configuration
// file pinned by its path and the flags kept. On Windows the service runs
// `credd service run`, which speaks the service control manager's
// protocol and writes LogFile, and a system service pins the state dir
// (LocalSystem's own would be another); macOS's launchd writes the output
// to ~/Library/Logs/credd (/Library/Logs/credd for a daemon).
func NewDefinition(s Spec) (Definition, error) {
	args := []string{s.Binary, "serve"}
	if s.OS == "windows" {
		args = []string{s.Binary, "service", "run"}
	}
	switch {
	case s.ConfigFile != "":
		args = append(args, "--config", s.ConfigFile)
	case s.OS == "windows" && s.Scope == System:
		return Definition{}, cred.Errorf(cred.ErrInvalid, "a Windows service runs as LocalSystem, which has no ~/.aws/config of yours: write a config file (docs/configuration.md) and pass it with --config")
	}
	args = append(args, s.Flags...)
	d := Definition{Scope: s.Scope}
	switch s.OS {
	case "windows":
		if s.Scope == System && !slices.Contains(s.Flags, "--state-dir") {
			args = append(args, "--state-dir", s.StateDir)
		}
		args = append(args, "--log-file", filepath.Join(s.StateDir, LogFile))
		d.UserID = s.UserID
	case "darwin":
		// A macOS path, slash-separated whatever OS renders it.
		d.LogDir = path.Join(s.Home, "Library", "Logs", "credd")
		if s.Scope == System {
			d.LogDir = "/Library/Logs/credd"
		}
	}
	if s.Scope == System {
		d.UserName = s.UserName
	}
	d.Command = args
	return d, nil
}

// Binary is the absolute path of the executable a service runs: path, or
// this executable when path is "". With check, it refuses what a service
// must not pin: a temporary build of `go run`, or no executable file.
func Binary(path string, check bool) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("finding this executable: %w; pass --binary", err)
		}
		if !check {
			return exe, nil
		}
		if strings.Contains(filepath.ToSlash(exe), "/go-build") {
			return "", cred.Errorf(cred.ErrInvalid, "this credd runs from a temporary build (go run): install it first (go install, or a package; docs/install.md), or pass --binary")
		}
		path = exe
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", cred.Errorf(cred.ErrInvalid, "--binary %s: %w", path, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		return "", cred.Errorf(cred.ErrInvalid, "--binary %s: not an executable file", abs)
	}
	return abs, nil
}

// MaxLogSize is the size past which OpenLog starts a new log.
const MaxLogSize = 10 << 20

// OpenLog opens the log file of `credd service run` for appending (0600,
// its directory 0700), moving a log larger than MaxLogSize to <file>.1
// first.
func OpenLog(path string) (*os.File, error) {
	if err := private.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("creating the log directory: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > MaxLogSize {
		_ = os.Rename(path, path+".1") // else the log grows on
	}
	if err := private.CreateIfMissing(path); err != nil {
		return nil, fmt.Errorf("creating the log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the log file: %w", err)
	}
	return f, nil
}
