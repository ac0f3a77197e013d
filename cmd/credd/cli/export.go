package cli

import (
	"cmp"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/credfile"
	"github.com/credd/credd/export"
)

func writeExport(w io.Writer, format string, c control.Credentials, profile string) error {
	if err := export.Write(w, format, c.Cred(), profile); err != nil {
		return exitf(ExitUsage, "%w", err)
	}
	return nil
}

func (a *app) exportCmd() *cobra.Command {
	var profile, format, write string
	c := &cobra.Command{
		Use:   "export [--profile X] --format FORMAT [--write NAME]",
		Short: "Print raw credentials, as `aws configure export-credentials` does",
		Long: `Print a profile's current credentials (from the daemon's cache) in one of
the formats of ` + "`aws configure export-credentials`" + ` — process, env,
env-no-export, powershell, windows-cmd — or fish, or ini.

--format ini --write NAME writes them into the shared credentials file
(AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) as profile NAME,
atomically, keeping every other byte of the file. Credentials written there
expire: prefer ` + "`credd env`" + ` or credential_process where tools allow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := export.Check(format, write); err != nil {
				return err
			}
			c, l, err := a.credentials(cmd.Context(), profile, control.ForExport)
			if err != nil {
				return err
			}
			if write == "" {
				return writeExport(a.io.Out, format, c, cmp.Or(profile, l.Config.DefaultProfile))
			}
			awsFiles, err := config.AWSFiles(a.io.Getenv)
			if err != nil {
				return exitf(ExitFailure, "%w", err)
			}
			credFile := awsFiles.Credentials
			if err := credfile.WriteProfile(credFile, write, c.Cred()); err != nil {
				return exitf(ExitFailure, "writing %s: %w", credFile, err)
			}
			fmt.Fprintf(a.io.Err, "wrote profile [%s] to %s; it expires at %s — run this again to renew\n", write, credFile, c.Expiration.UTC().Format("2006-01-02 15:04:05Z"))
			return nil
		},
	}
	c.Flags().StringVar(&profile, "profile", "", "profile (default: default_profile)")
	c.Flags().StringVar(&format, "format", "process", "process, env, env-no-export, powershell, windows-cmd, fish, ini")
	c.Flags().StringVar(&write, "write", "", "with --format ini: write into the shared credentials file as this profile")
	return c
}
