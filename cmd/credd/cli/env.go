package cli

import (
	"errors"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/credd/credd/daemon"
	"github.com/credd/credd/export"
)

// clientEnv is daemon.ClientEnv of this command line's configuration.
func (a *app) clientEnv(profile, client string) (export.Env, error) {
	l, err := a.clientConfig(true)
	if err != nil {
		return export.Env{}, err
	}
	return daemon.ClientEnv(l.Config, profile, client, l.Problems == nil)
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
