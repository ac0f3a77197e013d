package cli

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/daemon"
)

// AuditFile is the audit log under the state dir (daemon.AuditFile).
const AuditFile = daemon.AuditFile

func (a *app) auditCmd() *cobra.Command {
	var asJSON, follow bool
	var since time.Duration
	var profile string
	c := &cobra.Command{
		Use:   "audit [--json] [--since D] [--profile P] [--follow]",
		Short: "Show who took which credentials, and what was refused",
		Long: `Show the audit log (<state_dir>/audit.jsonl and its rotated files): one line per
credentials answer and per refusal, with the program, its PID and user, the
profile and the result. Repeated refusals of one program for one reason are
folded into one line a minute with a count.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.clientConfig(false)
			if err != nil {
				return err
			}
			path := filepath.Join(l.Config.StateDir, AuditFile)
			f := audit.Filter{Profile: profile}
			if since > 0 {
				f.Since = time.Now().Add(-since)
			}
			p := audit.NewPrinter(a.io.Out, asJSON, follow)
			defer p.Flush()
			if follow {
				return audit.Follow(cmd.Context(), path, f, 500*time.Millisecond, p.Print)
			}
			err = audit.Read(path, f, p.Print)
			if errors.Is(err, audit.ErrNoLog) {
				return exitf(ExitFailure, "no audit log yet in %s: credd writes it once it serves credentials", l.Config.StateDir)
			}
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "JSON lines, as in the file")
	c.Flags().DurationVar(&since, "since", 0, "only entries newer than this, e.g. 1h")
	c.Flags().StringVar(&profile, "profile", "", "only this profile")
	c.Flags().BoolVar(&follow, "follow", false, "show the current file, then new entries as they come")
	return c
}
