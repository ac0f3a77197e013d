package install

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Runner runs a service manager's tool (systemctl, launchctl, schtasks) and
// returns what it printed, stdout and stderr together. A non-zero exit is a
// *CommandError.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// CommandError is a tool that failed, with what it said.
type CommandError struct {
	Command  string // the command line
	ExitCode int    // -1 when it did not run
	Output   string
	Err      error
}

func (e *CommandError) Error() string {
	msg := e.Command + ": " + e.Err.Error()
	if out := strings.TrimSpace(e.Output); out != "" {
		msg += ": " + out
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// exitCode is the tool's exit code, or -1 when err is not a CommandError
// from a tool that ran.
func exitCode(err error) int {
	var ce *CommandError
	if errors.As(err, &ce) {
		return ce.ExitCode
	}
	return -1
}

// ErrToolNotFound is returned when the service manager's tool is missing.
var ErrToolNotFound = errors.New("not found")

// ExecRunner runs tools found on pathList (a PATH value) with the
// environment env (nil: this process's). Each call is bounded by timeout.
func ExecRunner(pathList string, env []string, timeout time.Duration) Runner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		line := strings.Join(append([]string{name}, args...), " ")
		bin, err := lookPath(name, pathList)
		if err != nil {
			return nil, &CommandError{Command: line, ExitCode: -1, Err: err}
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			code := -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if ctx.Err() != nil {
				err = fmt.Errorf("no answer within %s: %w", timeout, ctx.Err())
			}
			return out, &CommandError{Command: line, ExitCode: code, Output: string(out), Err: err}
		}
		return out, nil
	}
}

// lookPath finds name on pathList, as exec.LookPath does on the process's
// PATH (the command line passes the PATH it was given, so tests control it).
func lookPath(name, pathList string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	exts := []string{""}
	if runtime.GOOS == "windows" {
		exts = []string{".exe", ".com", ".bat", ".cmd", ""}
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			continue
		}
		for _, ext := range exts {
			p := filepath.Join(dir, name+ext)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && (runtime.GOOS == "windows" || fi.Mode()&0o111 != 0) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s: %w on PATH", name, ErrToolNotFound)
}
