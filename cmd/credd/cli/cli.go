// Package cli is credd's command line: it parses flags and the environment
// (the only code that does), loads the configuration and calls into the
// packages below. The command tree is built fresh for every Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/daemon"
)

// Exit codes (DESIGN.md §3).
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitNotRunning    = 3
	ExitLoginRequired = 4
)

// IO is the process's outside world, so tests can run the CLI in-process.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	Getenv   func(string) string
	Environ  func() []string
	// Unsetenv removes a variable from the process (serve drops variables
	// that would make the SDK bypass ~/.aws/config); nil does nothing.
	Unsetenv func(string) error
	// ErrIsTerminal and OutIsTerminal report whether Err and Out are
	// terminals (log format, colours).
	ErrIsTerminal, OutIsTerminal bool
	// OpenURL, if set, replaces opening the browser (tests).
	OpenURL func(url string) error
	// Notify, if set, replaces desktop notifications (tests).
	Notify func(title, message string)
	// RequestWait, if set, replaces how long serve's HTTP requests wait
	// for credentials being fetched (daemon.Deps.RequestWait; tests whose
	// helpers start slowly, under wine).
	RequestWait time.Duration
}

// Std is the real process environment.
func Std() IO {
	return IO{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Getenv: os.Getenv, Environ: os.Environ, Unsetenv: os.Unsetenv,
		ErrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		OutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	}
}

// exitError carries an exit code with a message for the user.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitf makes an error that exits with code. As in fmt.Errorf, %w keeps a
// cause, for errors.Is and errors.As above.
func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// usageError is a command line that cobra refused: an unknown command or
// flag, a flag without its value, a wrong number of arguments.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode is the one mapping of errors to exit codes (DESIGN.md §3): the
// code an error was given (exitf), else by its kind. Errors of the
// daemon's carry their kind across the control socket (control.Error), so
// they are told apart here as they were there.
func exitCode(err error) int {
	var ee *exitError
	var ue usageError
	_, configErrs := config.AsErrors(err)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), configErrs, errors.Is(err, daemon.ErrRefused):
		return ExitUsage
	case errors.Is(err, control.ErrNotRunning):
		return ExitNotRunning
	case errors.Is(err, cred.ErrLoginRequired):
		return ExitLoginRequired
	case errors.Is(err, cred.ErrUnknownProfile), errors.Is(err, cred.ErrUnknownSession), errors.Is(err, cred.ErrInvalid):
		return ExitUsage
	}
	return ExitFailure
}

// app is the state of one CLI invocation.
type app struct {
	io         IO
	configPath string
	logLevel   string
	logFormat  string
	listen     string
	stateDir   string
}

// Run runs the command line args and returns the exit code.
func Run(ctx context.Context, args []string, stdio IO) int {
	a := &app{io: stdio}
	root := a.root()
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	var ee *exitError
	switch es, ok := config.AsErrors(err); {
	case err == nil:
	case ok && !errors.As(err, &ee): // an exitError says it in its own words
		fmt.Fprintf(stdio.Err, "credd: the configuration has %d problem(s):\n", len(es))
		for _, e := range es {
			fmt.Fprintf(stdio.Err, "  %s\n", e)
		}
		fmt.Fprintln(stdio.Err, "Fix them and run `credd config check`; docs/configuration.md lists every key.")
	case errors.Is(err, context.Canceled) || errors.Is(err, errSilent):
	default:
		fmt.Fprintf(stdio.Err, "credd: %v\n", err)
	}
	return code
}

// typedUsage makes cobra's refusals of a command line usageErrors: flag
// errors through the root's FlagErrorFunc (every command inherits it),
// argument errors by wrapping each command's Args, and an unknown
// command by the root's own RunE (cobra reports one only for a root
// without Args, in an error of no type).
func typedUsage(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.Args = cobra.ArbitraryArgs
	root.SuggestionsMinimumDistance = 2 // cobra's default for its own message
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return usageError{errors.New(msg)}
	}
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
		if args := c.Args; args != nil && c != root {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return usageError{err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			wrap(sub)
		}
	}
	wrap(root)
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "credd",
		Short:         "A local AWS credential daemon: one sign-in, fresh credentials for every SDK",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&a.configPath, "config", "", "config file (default: $CREDD_CONFIG or <user config dir>/credd/config.yaml)")
	f.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&a.logFormat, "log-format", "auto", "log format: auto (text on a terminal, else JSON), text, json")
	f.StringVar(&a.listen, "listen", "", "listen address (overrides the config's listen)")
	f.StringVar(&a.stateDir, "state-dir", "", "state directory (overrides the config's state_dir)")
	root.AddCommand(a.serveCmd(), a.configCmd(), a.versionCmd(), a.envCmd(), a.execCmd(),
		a.statusCmd(), a.reloadCmd(), a.logoutCmd(), a.credentialProcessCmd(), a.exportCmd(), a.doctorCmd(), a.serviceCmd(), a.loginCmd(),
		a.consoleCmd(), a.rotateCmd(), a.clientCmd(), a.auditCmd())
	typedUsage(root)
	return root
}

func (a *app) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return nil, exitf(ExitUsage, "--log-level: %q is not one of debug, info, warn, error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(a.io.Err, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.io.Err, opts)), nil
	case "auto", "":
		if a.io.ErrIsTerminal {
			return slog.New(slog.NewTextHandler(a.io.Err, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(a.io.Err, opts)), nil
	}
	return nil, exitf(ExitUsage, "--log-format: %q is not one of auto, text, json", a.logFormat)
}
