package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

// client connects to the running daemon of the configured state dir. A
// half-edited config must not hide the daemon: its problems are a warning
// (see clientConfig), and the daemon says what is wrong on reload. The
// configuration it returns lacks the profiles of a zero-configuration run
// (clientConfig(false)): the daemon knows them.
func (a *app) client() (*control.Client, config.Loaded, error) {
	l, err := a.clientConfig(false)
	if err != nil {
		return nil, l, err
	}
	return control.NewClient(l.Config.StateDir), l, nil
}

// clientErr adds the next step to a control error. Its exit code comes
// from its kind (exitCode), which the control API carries.
func clientErr(err error) error {
	switch {
	case errors.Is(err, control.ErrNotRunning):
		return fmt.Errorf("%w: start it with `credd serve` (or `credd service start`)", err)
	case errors.Is(err, cred.ErrUnknownProfile):
		return fmt.Errorf("%w (`credd status` lists the profiles)", err)
	case errors.Is(err, cred.ErrUnknownSession):
		return fmt.Errorf("%w (`credd status` lists the sessions)", err)
	}
	return err
}

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show profiles (state, expiry, last refresh, last error) and sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, _, err := a.client()
			if err != nil {
				return err
			}
			st, err := cl.Status(cmd.Context())
			if err != nil {
				return clientErr(err)
			}
			if asJSON {
				enc := json.NewEncoder(a.io.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			// Buffered: the tables' writer writes each cell and each run
			// of padding on its own, a system call apiece on a bare
			// stdout (65,000 of them for 5,000 profiles).
			w := bufio.NewWriterSize(a.io.Out, 64<<10)
			st.WriteTable(w, time.Now(), a.io.OutIsTerminal)
			return w.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON (shape documented in docs/control.md)")
	return c
}

func (a *app) reloadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Make the daemon read its configuration again (unchanged profiles keep their credentials)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, _, err := a.client()
			if err != nil {
				return err
			}
			if err := clientErr(cl.Reload(cmd.Context())); err != nil {
				return err
			}
			fmt.Fprintln(a.io.Out, "reloaded")
			return nil
		},
	}
}

func (a *app) logoutCmd() *cobra.Command {
	var session string
	c := &cobra.Command{
		Use:   "logout [--session NAME]",
		Short: "Forget sign-in sessions (all, or one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, _, err := a.client()
			if err != nil {
				return err
			}
			res, err := cl.Logout(cmd.Context(), control.LogoutRequest{Session: session})
			if err := clientErr(err); err != nil {
				return err
			}
			if len(res.Removed) == 0 {
				fmt.Fprintln(a.io.Out, "no sessions to forget")
				return nil
			}
			fmt.Fprintf(a.io.Out, "forgot %s\n", strings.Join(res.Removed, ", "))
			return nil
		},
	}
	c.Flags().StringVar(&session, "session", "", "the session to forget: sso/corp, oidc/okta, or the name in the config (corp) if one session has it (default: all)")
	return c
}

// credentials fetches a profile's credentials from the daemon for command
// (control.ForExport, control.ForCredentialProcess: the audit log's
// label).
func (a *app) credentials(ctx context.Context, profile, command string) (control.Credentials, config.Loaded, error) {
	// Only finding the default profile needs the profiles themselves.
	l, err := a.clientConfig(profile == "")
	if err != nil {
		return control.Credentials{}, l, err
	}
	cl := control.NewClient(l.Config.StateDir)
	if profile == "" {
		profile = l.Config.DefaultProfile
		if profile == "" {
			return control.Credentials{}, l, exitf(ExitUsage, "no default profile: pass --profile (`credd status` lists them)")
		}
	}
	c, err := cl.Credentials(ctx, profile, command)
	return c, l, clientErr(err)
}

func (a *app) credentialProcessCmd() *cobra.Command {
	var profile string
	c := &cobra.Command{
		Use:   "credential-process --profile X",
		Short: "Print credentials as credential_process JSON (for ~/.aws/config)",
		Long: `Print a profile's credentials in the credential_process format, for
~/.aws/config:

  [profile dev-via-credd]
  credential_process = credd credential-process --profile dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := a.credentials(cmd.Context(), profile, control.ForCredentialProcess)
			if err != nil {
				return err
			}
			return writeExport(a.io.Out, "process", c, profile)
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "profile (required)")
	_ = c.MarkFlagRequired("profile")
	return c
}
