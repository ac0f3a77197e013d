package cli

import (
	"fmt"
	"os"

	"github.com/credd/credd/config"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func (a *app) configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Validate, show or locate the configuration"}
	c.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration; every problem is listed with its key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, u := range a.unknownEnv() {
				fmt.Fprintf(a.io.Err, "credd: warning: %s is not a credd variable and is ignored: did you mean %s? (docs/configuration.md lists them)\n", u.Name, u.Closest)
			}
			l, err := a.load()
			if err != nil {
				return err
			}
			src := l.Path
			if !l.FromFile {
				src = "no config file; the profiles of the shared AWS config"
			}
			fmt.Fprintf(a.io.Out, "ok: %d profile(s), default %q (%s)\n", len(l.Config.Profiles), l.Config.DefaultProfile, src)
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.load()
			if err != nil {
				return err
			}
			enc := yaml.NewEncoder(a.io.Out)
			enc.SetIndent(2)
			if err := enc.Encode(l.Config.Redacted()); err != nil {
				return err
			}
			return enc.Close()
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "path",
		Short: "Print where the configuration file is (or would be)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _, err := config.FilePath(a.configPath, a.io.Getenv)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.io.Out, path)
			if _, err := os.Stat(path); err != nil {
				fmt.Fprintln(a.io.Err, "(the file does not exist: credd serves the profiles of ~/.aws/config)")
			}
			return nil
		},
	})
	c.AddCommand(a.configInitCmd())
	return c
}
