package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

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
			var tw *tabwriter.Writer
			show := func(e audit.Entry) {
				if asJSON {
					b, _ := json.Marshal(e)
					fmt.Fprintf(a.io.Out, "%s\n", b)
					return
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), program(e), pid(e), orDash(e.Profile), e.Endpoint, result(e))
				if follow {
					tw.Flush()
				}
			}
			if !asJSON {
				tw = tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tPROGRAM\tPID\tPROFILE\tENDPOINT\tRESULT")
				defer tw.Flush()
			}
			if follow {
				return audit.Follow(cmd.Context(), path, f, 500*time.Millisecond, show)
			}
			err = audit.Read(path, f, show)
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

// program names the caller; the executable's path and command line come
// from other users' processes, so control characters are shown escaped.
func program(e audit.Entry) string {
	s := e.Exe
	if s == "" {
		s = e.Remote
		if e.UID != "" {
			s = "uid " + e.UID
		}
	}
	if s == "" {
		return "-"
	}
	return printable(s)
}

func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func pid(e audit.Entry) string {
	if e.PID == 0 {
		return "-"
	}
	return strconv.Itoa(e.PID)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}

func result(e audit.Entry) string {
	switch {
	case e.Status == 200 && e.Client != "" && e.Client != "default":
		return "served (client " + printable(e.Client) + ")"
	case e.Status == 200:
		return "served"
	case e.Count > 1:
		return fmt.Sprintf("refused %d× (%d): %s", e.Count, e.Status, printable(e.Reason))
	}
	return fmt.Sprintf("refused (%d): %s", e.Status, printable(e.Reason))
}
