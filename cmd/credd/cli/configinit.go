package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/spf13/cobra"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/login"
	"github.com/credd/credd/source"
)

func (a *app) configInitCmd() *cobra.Command {
	var session, template string
	var write bool
	c := &cobra.Command{
		Use:   "init [--sso-session S [--template T]] [--write]",
		Short: "Import ~/.aws/config's IAM Identity Center profiles, or discover a session's roles",
		Long: `Without flags, imports the [sso-session] sections of the shared AWS config
as sso_sessions and its profiles with sso_session, sso_account_id and
sso_role_name as credd profiles of the same name. An [sso-session] whose
name credd already uses for another start URL or region is added under a
new name (corp-2) and its profiles use that. Legacy profiles (sso_start_url,
sso_region, no sso_session) use the session with their start URL and
region, one named after the start URL's host (corp) if there is none.

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
			sc, ok := l.Config.SSOSessions[session]
			if !ok {
				return exitf(ExitUsage, "no sso session %q in %s (sso_sessions)", session, l.Path)
			}
			roles, err := a.roles(cmd.Context(), l, session, sc)
			if err != nil {
				return err
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
				if err := a.applyPlan(l.Path, plan); err != nil {
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

// roles lists the session's accounts and roles: through the running
// daemon, with the session it holds (whatever share_aws_cli_cache says),
// else with the token in the AWS CLI's cache.
func (a *app) roles(ctx context.Context, l config.Loaded, session string, sc config.SSOSession) ([]config.Role, error) {
	var out []config.Role
	res, err := control.NewClient(l.Config.StateDir).Assignments(ctx, control.AssignmentsRequest{SSOSession: session})
	switch {
	case err == nil:
		for _, as := range res.Assignments {
			out = append(out, config.Role{AccountID: as.AccountID, AccountName: as.AccountName, Name: as.Role})
		}
		return out, nil
	case !errors.Is(err, control.ErrNotRunning):
		return nil, clientErr(err)
	}
	home, err := config.HomeDir(a.io.Getenv)
	if err != nil {
		return nil, exitf(ExitFailure, "%w", err)
	}
	now := time.Now()
	cached, err := login.ReadAWSCLICache(login.AWSCLICacheFile(home, session), sc.StartURL, now)
	if err == nil && !cached.Expiry.After(now) {
		err = errors.New("the cached session expired") // a renewal is the daemon's work
	}
	if err != nil {
		return nil, exitf(ExitLoginRequired, "%w, and credd is not running: start it (`credd serve` or `credd service start`) and run `credd login --sso-session %s`", err, session)
	}
	found, err := source.Discover(ctx, sso.NewFromConfig(awsapi.Config{Region: sc.Region, Endpoint: sc.Endpoint}.AWS(nil)), cached.AccessToken)
	if err != nil {
		return nil, exitf(ExitFailure, "listing the accounts and roles of sso session %s: %w", session, err)
	}
	for _, as := range found {
		out = append(out, config.Role{AccountID: as.AccountID, AccountName: as.AccountName, Name: as.Role})
	}
	return out, nil
}

// applyPlan adds the plan's entries to the configuration file at path
// (creating it if needed), or says why it cannot.
func (a *app) applyPlan(path string, plan config.ImportPlan) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return exitf(ExitFailure, "%w", err)
	}
	out, err := plan.Apply(data)
	if err != nil {
		return exitf(ExitUsage, "%s: %w", path, err)
	}
	if err := config.WriteFile(path, out); err != nil {
		return exitf(ExitFailure, "writing %s: %w", path, err)
	}
	return nil
}

// importAWSConfig adds the shared AWS config's Identity Center sessions
// and profiles to credd's configuration, never replacing an entry.
func (a *app) importAWSConfig(l config.Loaded, write bool) error {
	paths, err := config.AWSFiles(a.io.Getenv)
	if err != nil {
		return exitf(ExitFailure, "%w", err)
	}
	awsConfig, err := awsfile.ReadFile(paths.Config, awsfile.Config)
	if err != nil {
		return exitf(ExitUsage, "reading the AWS config: %w", err)
	}
	var existing config.Config
	var data []byte
	if l.FromFile {
		if data, err = os.ReadFile(l.Path); err != nil {
			return exitf(ExitFailure, "%w", err)
		}
		existing = l.Config
	}
	plan := config.PlanImport(awsConfig, existing)
	for _, why := range plan.Skipped {
		fmt.Fprintf(a.io.Err, "skipped %s\n", why)
	}
	added := plan.Added()
	if len(added) == 0 {
		fmt.Fprintf(a.io.Err, "nothing to import from %s\n", paths.Config)
		return nil
	}
	for _, n := range plan.Notes {
		fmt.Fprintln(a.io.Err, n)
	}
	out, err := plan.Apply(data)
	if err != nil {
		return exitf(ExitUsage, "%s: %w", l.Path, err)
	}
	fmt.Fprintf(a.io.Out, "%s", out)
	if !write {
		fmt.Fprintf(a.io.Err, "preview: would add %s; run again with --write to write %s\n", strings.Join(added, ", "), l.Path)
		return nil
	}
	if err := config.WriteFile(l.Path, out); err != nil {
		return exitf(ExitFailure, "writing %s: %w", l.Path, err)
	}
	fmt.Fprintf(a.io.Err, "added %s to %s\n", strings.Join(added, ", "), l.Path)
	return nil
}
