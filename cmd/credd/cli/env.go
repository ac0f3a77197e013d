package cli

import (
	"cmp"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/export"
)

// clientEnv is what points an SDK at credd's container endpoint, with the
// owner token or a scoped client's.
func (a *app) clientEnv(profile, client string) (export.Env, error) {
	l, err := a.clientConfig(true)
	if err != nil {
		return export.Env{}, err
	}
	if client != "" {
		return a.scopedEnv(l, profile, client)
	}
	// With a config that has problems (the warning said so), the profiles
	// may be only partly known: the daemon judges the name instead.
	if profile != "" && l.Problems == nil {
		if _, ok := l.Config.Profiles[profile]; !ok {
			names := slices.Sorted(maps.Keys(l.Config.Profiles))
			return export.Env{}, exitf(ExitUsage, "no profile %q; configured profiles: %s", profile, strings.Join(names, ", "))
		}
	}
	tokenPath, token, err := daemon.ReadToken(l.Config.StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return export.Env{}, exitf(ExitNotRunning, "credd has not run yet (no client token in %s): start it with `credd serve` (or `credd service start`), then run this again", l.Config.StateDir)
	}
	if err != nil {
		return export.Env{}, exitf(ExitFailure, "reading the client token: %w", err)
	}
	return endpointEnv(l, profile, tokenPath, token), nil
}

// scopedEnv is clientEnv with a scoped client's token, for one of its
// profiles (the default profile if it may take it, else its first).
func (a *app) scopedEnv(l config.Loaded, profile, client string) (export.Env, error) {
	cl, ok := l.Config.Clients[client]
	if !ok {
		return export.Env{}, exitf(ExitUsage, "no client %q in the config: add it under clients, e.g. clients: {%s: {profiles: [dev]}}", client, client)
	}
	switch {
	case profile != "" && !slices.Contains(cl.Profiles, profile):
		return export.Env{}, exitf(ExitUsage, "client %q may not take profile %q (its profiles: %s)", client, profile, strings.Join(cl.Profiles, ", "))
	case profile == "" && !slices.Contains(cl.Profiles, l.Config.DefaultProfile) && len(cl.Profiles) > 0:
		profile = cl.Profiles[0]
	}
	path := daemon.ClientTokenPath(l.Config.StateDir, client)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return export.Env{}, exitf(ExitUsage, "client %q has no token yet: run `credd client token %s` first", client, client)
	}
	if err != nil {
		return export.Env{}, exitf(ExitFailure, "reading the client token: %v", err)
	}
	return endpointEnv(l, profile, path, []byte(strings.TrimSpace(string(b)))), nil
}

// endpointEnv points at the container endpoint with a token.
func endpointEnv(l config.Loaded, profile, tokenPath string, token []byte) export.Env {
	name := cmp.Or(profile, l.Config.DefaultProfile)
	return export.ContainerEnv(l.Config.Listen, profile, tokenPath, token, l.Config.Profiles[name].Region)
}

func (a *app) envCmd() *cobra.Command {
	var profile, shell, client string
	c := &cobra.Command{
		Use:   "env",
		Short: "Print the environment that points SDKs at credd's container endpoint",
		Long: `Print shell commands that point every AWS SDK and the AWS CLI at credd:
  eval "$(credd env)"                       # sh, bash, zsh
  credd env --shell fish | source           # fish
  credd env --shell powershell | Invoke-Expression

They set AWS_CONTAINER_CREDENTIALS_FULL_URI and the client token (as a file
for newer SDKs and as a value for older ones), and clear variables that
would take precedence over it (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...).

Alternative without a token, for dev containers and tools that only speak
IMDS: AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9955/ (mind the
trailing slash), which serves default_profile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := a.clientEnv(profile, client)
			if err != nil {
				return err
			}
			if err := e.Write(a.io.Out, shell); err != nil {
				return exitf(ExitUsage, "--shell: %w", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "profile to serve (default: default_profile)")
	c.Flags().StringVar(&client, "client", "", "use this scoped client's token (clients in the config; see `credd client token`)")
	c.Flags().StringVar(&shell, "shell", "sh", "shell syntax: sh, fish, powershell, cmd")
	return c
}

func (a *app) execCmd() *cobra.Command {
	var profile, client string
	c := &cobra.Command{
		Use:   "exec [--profile X] -- CMD [ARGS...]",
		Short: "Run a command with the environment of `credd env`",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.clientEnv(profile, client)
			if err != nil {
				return err
			}
			env := e.Environ(a.io.Environ())
			c := exec.Command(args[0], args[1:]...)
			c.Env, c.Stdin, c.Stdout, c.Stderr = env, a.io.In, a.io.Out, a.io.Err
			// Ctrl-C reaches the child from the terminal; credd waits for it
			// and exits with its code.
			err = c.Run()
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				return &exitError{code: ee.ExitCode(), err: errSilent}
			case err != nil:
				return exitf(ExitFailure, "running %s: %w", args[0], err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "profile to serve (default: default_profile)")
	c.Flags().StringVar(&client, "client", "", "use this scoped client's token (clients in the config; see `credd client token`)")
	return c
}

// errSilent is an error with nothing to tell the user (the child already did).
var errSilent = errors.New("")
