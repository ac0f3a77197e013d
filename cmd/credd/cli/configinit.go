package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credd/credd/config"
	"github.com/credd/credd/daemon"
)

func (a *app) configInitCmd() *cobra.Command {
	var session, template string
	var write bool
	c := &cobra.Command{
		Use:   "init [--sso-session S [--template T]] [--write]",
		Short: "Import ~/.aws/config's IAM Identity Center and aws login profiles, or discover a session's roles",
		Long: `Without flags, imports the [sso-session] sections of the shared AWS config
as sso_sessions and its profiles with sso_session, sso_account_id and
sso_role_name as credd profiles of the same name. An [sso-session] whose
name credd already uses for another start URL or region is added under a
new name (corp-2) and its profiles use that. Legacy profiles (sso_start_url,
sso_region, no sso_session) use the session with their start URL and
region, one named after the start URL's host (corp) if there is none.
Profiles that aws login signs in (login_session) are imported as
login_session profiles, whose session credd then holds and renews.

With --sso-session, lists the accounts and roles of an sso session (ListAccounts and
ListAccountRoles) with the session the running daemon holds (or, when credd
is not running, the token in ~/.aws/sso/cache) and prints the profiles it
would add.
--write adds them to the configuration file. Existing profiles are never
replaced: a name that is taken is reported and skipped.

Both print what they would add; --write adds it to the configuration
file (creating it if needed). Nothing in the file is ever replaced.

--template names the profiles: {account} (the account's name), {account_id}
and {role}; the default is {account}/{role}. Names are sanitized to the
characters profile names allow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.load()
			if err != nil {
				return err
			}
			if session == "" {
				return a.importAWSConfig(l, write)
			}
			if !l.FromFile {
				return exitf(ExitUsage, "no configuration file at %s: create one with the sso_sessions entry first", l.Path)
			}
			if _, ok := l.Config.SSOSessions[session]; !ok {
				return exitf(ExitUsage, "no sso session %q in %s (sso_sessions)", session, l.Path)
			}
			home, _ := config.HomeDir(a.io.Getenv)
			roles, err := daemon.Roles(cmd.Context(), l.Config, session, home, time.Now())
			if err != nil {
				return clientErr(err)
			}
			if len(roles) == 0 {
				fmt.Fprintf(a.io.Out, "sso session %s is assigned no accounts and roles.\n", session)
				return nil
			}
			if template == "" {
				template = config.DefaultRoleTemplate
			}
			plan := config.PlanRoles(l.Config, session, template, roles)
			fmt.Fprintf(a.io.Out, "profiles:\n")
			for _, name := range plan.ProfileOrder {
				p := plan.Profiles[name]
				fmt.Fprintf(a.io.Out, "  %s: {sso_session: %s, account_id: %q, role_name: %s}\n", name, session, p.AccountID, p.RoleName)
			}
			for _, why := range plan.Skipped {
				fmt.Fprintf(a.io.Err, "skipped %s\n", why)
			}
			switch n := len(plan.ProfileOrder); {
			case !write && n > 0:
				fmt.Fprintf(a.io.Err, "preview: %d profile(s) to add; run again with --write to add them to %s\n", n, l.Path)
			case !write:
			case n == 0:
				fmt.Fprintln(a.io.Err, "nothing to add")
			default:
				if err := plan.ApplyFile(l.Path); err != nil {
					return err
				}
				fmt.Fprintf(a.io.Err, "added %d profile(s) to %s\n", n, l.Path)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&session, "sso-session", "", "the sso_sessions entry to discover")
	f.StringVar(&template, "template", "", "profile names: {account}, {account_id}, {role} (default {account}/{role})")
	f.BoolVar(&write, "write", false, "add the profiles to the configuration file (default: preview)")
	return c
}

// importAWSConfig adds the shared AWS config's Identity Center sessions
// and profiles to credd's configuration, never replacing an entry.
func (a *app) importAWSConfig(l config.Loaded, write bool) error {
	paths, err := config.AWSFiles(a.io.Getenv)
	if err != nil {
		return exitf(ExitFailure, "%w", err)
	}
	plan, out, err := config.PlanImportFile(paths.Config, l)
	for _, why := range plan.Skipped {
		fmt.Fprintf(a.io.Err, "skipped %s\n", why)
	}
	if err == nil && out == nil {
		fmt.Fprintf(a.io.Err, "nothing to import from %s\n", paths.Config)
		return nil
	}
	for _, n := range plan.Notes {
		fmt.Fprintln(a.io.Err, n)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "%s", out)
	added := strings.Join(plan.Added(), ", ")
	if !write {
		fmt.Fprintf(a.io.Err, "preview: would add %s; run again with --write to write %s\n", added, l.Path)
		return nil
	}
	if err := config.WriteFile(l.Path, out); err != nil {
		return exitf(ExitFailure, "writing %s: %w", l.Path, err)
	}
	fmt.Fprintf(a.io.Err, "added %s to %s\n", added, l.Path)
	return nil
}
