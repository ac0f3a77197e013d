package cli

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credd/credd/daemon"
)

// clearedVars would shadow the container endpoint for SDKs (environment
// credentials and profiles come first in every SDK's chain), or disable it.
var clearedVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_EC2_METADATA_DISABLED",
}

// clientEnv is what points an SDK at credd's container endpoint.
type clientEnv struct {
	set   [][2]string // ordered
	unset []string
}

func (a *app) clientEnv(profile, client string) (clientEnv, error) {
	l, err := a.clientConfig()
	if err != nil {
		return clientEnv{}, err
	}
	if client != "" {
		return a.scopedEnv(l, profile, client)
	}
	// With a config that has problems (the warning said so), the profiles
	// may be only partly known: the daemon judges the name instead.
	if profile != "" && l.problems == nil {
		if _, ok := l.cfg.Profiles[profile]; !ok {
			names := slices.Sorted(maps.Keys(l.cfg.Profiles))
			return clientEnv{}, exitf(ExitUsage, "no profile %q; configured profiles: %s", profile, strings.Join(names, ", "))
		}
	}
	tokenPath, token, err := daemon.ReadToken(l.cfg.StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return clientEnv{}, exitf(ExitNotRunning, "credd has not run yet (no client token in %s): start it with `credd serve` (or `credd service start`), then run this again", l.cfg.StateDir)
	}
	if err != nil {
		return clientEnv{}, exitf(ExitFailure, "reading the client token: %w", err)
	}
	return endpointEnv(l, profile, tokenPath, token), nil
}

// scopedEnv is clientEnv with a scoped client's token, for one of its
// profiles (the default profile if it may take it, else its first).
func (a *app) scopedEnv(l loaded, profile, client string) (clientEnv, error) {
	cl, ok := l.cfg.Clients[client]
	if !ok {
		return clientEnv{}, exitf(ExitUsage, "no client %q in the config: add it under clients, e.g. clients: {%s: {profiles: [dev]}}", client, client)
	}
	switch {
	case profile != "" && !slices.Contains(cl.Profiles, profile):
		return clientEnv{}, exitf(ExitUsage, "client %q may not take profile %q (its profiles: %s)", client, profile, strings.Join(cl.Profiles, ", "))
	case profile == "" && !slices.Contains(cl.Profiles, l.cfg.DefaultProfile) && len(cl.Profiles) > 0:
		profile = cl.Profiles[0]
	}
	path := daemon.ClientTokenPath(l.cfg.StateDir, client)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return clientEnv{}, exitf(ExitUsage, "client %q has no token yet: run `credd client token %s` first", client, client)
	}
	if err != nil {
		return clientEnv{}, exitf(ExitFailure, "reading the client token: %v", err)
	}
	return endpointEnv(l, profile, path, []byte(strings.TrimSpace(string(b)))), nil
}

// endpointEnv points at the container endpoint with a token.
func endpointEnv(l loaded, profile, tokenPath string, token []byte) clientEnv {
	_, port, _ := net.SplitHostPort(l.cfg.Listen)
	host := "127.0.0.1" // the one host every SDK generation accepts in an http URI
	if h, _, _ := net.SplitHostPort(l.cfg.Listen); h == "::1" {
		host = "[::1]"
	}
	uri := "http://" + host + ":" + port + "/v1/credentials"
	if profile != "" {
		uri += "/" + profile
	}
	e := clientEnv{unset: clearedVars}
	e.set = append(e.set,
		[2]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", uri},
		[2]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenPath},
		[2]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN", string(token)},
	)
	name := profile
	if name == "" {
		name = l.cfg.DefaultProfile
	}
	if r := l.cfg.Profiles[name].Region; r != "" {
		e.set = append(e.set, [2]string{"AWS_REGION", r}, [2]string{"AWS_DEFAULT_REGION", r})
	}
	return e
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
			return writeEnv(a.io.Out, shell, e)
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "profile to serve (default: default_profile)")
	c.Flags().StringVar(&client, "client", "", "use this scoped client's token (clients in the config; see `credd client token`)")
	c.Flags().StringVar(&shell, "shell", "sh", "shell syntax: sh, fish, powershell, cmd")
	return c
}

func writeEnv(w io.Writer, shell string, e clientEnv) error {
	var set func(k, v string) string
	var unset func(k string) string
	switch shell {
	case "sh", "bash", "zsh":
		set = func(k, v string) string { return "export " + k + "=" + shQuote(v) }
		unset = func(k string) string { return "unset " + k }
	case "fish":
		set = func(k, v string) string { return "set -gx " + k + " " + shQuote(v) + ";" }
		unset = func(k string) string { return "set -e " + k + ";" }
	case "powershell", "pwsh":
		set = func(k, v string) string { return "$Env:" + k + " = '" + strings.ReplaceAll(v, "'", "''") + "'" }
		unset = func(k string) string { return "Remove-Item Env:" + k + " -ErrorAction SilentlyContinue" }
	case "cmd":
		set = func(k, v string) string { return "set " + k + "=" + v }
		unset = func(k string) string { return "set " + k + "=" }
	default:
		return exitf(ExitUsage, "--shell: %q is not one of sh, fish, powershell, cmd", shell)
	}
	var b strings.Builder
	for _, k := range e.unset {
		b.WriteString(unset(k) + "\n")
	}
	for _, kv := range e.set {
		b.WriteString(set(kv[0], kv[1]) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shQuote quotes for POSIX shells and fish.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
			env := mergeEnv(a.io.Environ(), e)
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

func mergeEnv(environ []string, e clientEnv) []string {
	drop := map[string]bool{}
	for _, k := range e.unset {
		drop[k] = true
	}
	for _, kv := range e.set {
		drop[kv[0]] = true
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	for _, kv := range e.set {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}
