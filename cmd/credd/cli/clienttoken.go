package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credd/credd/control"
	"github.com/credd/credd/daemon"
)

func (a *app) clientCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "client",
		Short: "Scoped client tokens: a token of its own per client, serving only its profiles",
		Long: `A client listed under clients in the config gets a token of its own in
<state_dir>/clients/NAME.token. The container endpoint serves that token only
the client's profiles; point a tool or a container at it with
` + "`credd env --client NAME`" + ` or ` + "`credd exec --client NAME -- CMD`" + `.`,
	}
	for _, op := range []struct {
		use, short string
		revoke     bool
	}{
		{"token NAME", "Print the client's token, creating it on first use", false},
		{"revoke NAME", "Replace the client's token: the old one is refused at once", true},
	} {
		c.AddCommand(&cobra.Command{
			Use:   op.use,
			Short: op.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				tok, err := a.clientToken(cmd, args[0], op.revoke)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.io.Out, tok.Token)
				if op.revoke {
					fmt.Fprintf(a.io.Err, "client %s: new token in %s; the old one is refused\n", tok.Name, tok.Path)
				}
				return nil
			},
		})
	}
	return c
}

// clientToken is daemon.ScopedToken of the configured state dir.
func (a *app) clientToken(cmd *cobra.Command, name string, revoke bool) (control.ClientToken, error) {
	l, err := a.clientConfig(false)
	if err != nil {
		return control.ClientToken{}, err
	}
	tok, err := daemon.ScopedToken(cmd.Context(), l.Config, name, revoke)
	return tok, clientErr(err)
}
