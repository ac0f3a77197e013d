package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/rotate"
)

func (a *app) rotateCmd() *cobra.Command {
	var profile string
	c := &cobra.Command{
		Use:   "rotate --profile X",
		Short: "Rotate the IAM user access key behind a key-based profile",
		Long: `Replace the IAM user access key that an aws_profile profile rests on:
create a new key, wait until it works (sts:GetCallerIdentity, retried while
IAM propagates it), store it in the shared credentials file in place of the
old one (every other byte of the file is kept), then delete the old key.

A failure before the new key is stored deletes the new key again: the old
key stays in place and keeps working. A failure after it says which key is
where. IAM allows two keys per user: with two already, credd refuses and
names the one to delete. The user needs iam:ListAccessKeys,
iam:CreateAccessKey and iam:DeleteAccessKey on itself.

This runs here, not in the daemon; a running daemon is told to reload so
it signs with the new key from its next refresh.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.load()
			if err != nil {
				return err
			}
			awsFiles, err := config.AWSFiles(a.io.Getenv)
			if err != nil {
				return exitf(ExitFailure, "%w", err)
			}
			ctx := cmd.Context()
			r, keys, err := rotate.ForProfile(ctx, l.Config, profile, awsFiles, func(msg string) { fmt.Fprintf(a.io.Err, "credd: %s\n", msg) })
			if err != nil {
				return err
			}
			res, err := r.Rotate(ctx, keys.Credentials)
			if err != nil {
				return exitf(ExitFailure, "rotating the key of profile %s: %w", profile, err)
			}
			who := "the root user"
			if res.User != "" {
				who = "IAM user " + res.User
			}
			fmt.Fprintf(a.io.Out, "Rotated the access key of profile %s (%s):\n  new key %s, stored in %s\n  old key %s, deleted\n",
				profile, who, res.NewKeyID, keys.Where(), res.OldKeyID)
			// A running daemon holds the old key in its AWS SDK cache.
			switch err := control.NewClient(l.Config.StateDir).Reload(ctx); {
			case err == nil:
				fmt.Fprintln(a.io.Out, "The running daemon reloaded: it signs with the new key from its next refresh.")
			case errors.Is(err, control.ErrNotRunning):
			default:
				fmt.Fprintf(a.io.Err, "credd: the daemon did not reload (%v): run `credd reload` so it uses the new key\n", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "profile (required)")
	_ = c.MarkFlagRequired("profile")
	return c
}
