package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/login"
	"github.com/credd/credd/source"
)

// assignment is one role of one account the user may use.
type assignment = source.Assignment

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
			if !l.fromFile {
				return exitf(ExitUsage, "no configuration file at %s: create one with the sso_sessions entry first", l.path)
			}
			sc, ok := l.cfg.SSOSessions[session]
			if !ok {
				return exitf(ExitUsage, "no sso session %q in %s (sso_sessions)", session, l.path)
			}
			found, err := a.assignments(cmd.Context(), l, session, sc)
			if err != nil {
				return err
			}
			if template == "" {
				template = "{account}/{role}"
			}
			raw, err := os.ReadFile(l.path)
			if err != nil {
				return exitf(ExitFailure, "%w", err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
				return exitf(ExitUsage, "%s is not a YAML mapping", l.path)
			}
			var added, skipped []string
			adds := map[string]assignment{}
			for _, as := range found {
				name := profileName(template, as)
				if _, taken := l.cfg.Profiles[name]; taken {
					skipped = append(skipped, name+": a profile by that name exists")
					continue
				}
				if _, dup := adds[name]; dup {
					skipped = append(skipped, name+": the template gives another assignment this name (use {role} in --template)")
					continue
				}
				adds[name] = as
				added = append(added, name)
			}
			if len(found) == 0 {
				fmt.Fprintf(a.io.Out, "sso session %s is assigned no accounts and roles.\n", session)
				return nil
			}
			fmt.Fprintf(a.io.Out, "profiles:\n")
			for _, name := range added {
				as := adds[name]
				fmt.Fprintf(a.io.Out, "  %s: {sso_session: %s, account_id: %q, role_name: %s}\n", name, session, as.AccountID, as.Role)
			}
			for _, why := range skipped {
				fmt.Fprintf(a.io.Err, "skipped %s\n", why)
			}
			if !write {
				if len(added) > 0 {
					fmt.Fprintf(a.io.Err, "preview: %d profile(s) to add; run again with --write to add them to %s\n", len(added), l.path)
				}
				return nil
			}
			if len(added) == 0 {
				fmt.Fprintln(a.io.Err, "nothing to add")
				return nil
			}
			if err := addProfiles(doc.Content[0], session, added, adds); err != nil {
				return exitf(ExitFailure, "%w", err)
			}
			var out bytes.Buffer
			enc := yaml.NewEncoder(&out)
			enc.SetIndent(2)
			if err := enc.Encode(&doc); err != nil {
				return exitf(ExitFailure, "%w", err)
			}
			if err := enc.Close(); err != nil {
				return exitf(ExitFailure, "%w", err)
			}
			if err := writeFileAtomic(l.path, out.Bytes()); err != nil {
				return exitf(ExitFailure, "writing %s: %w", l.path, err)
			}
			fmt.Fprintf(a.io.Err, "added %d profile(s) to %s\n", len(added), l.path)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&session, "sso-session", "", "the sso_sessions entry to discover")
	f.StringVar(&template, "template", "", "profile names: {account}, {account_id}, {role} (default {account}/{role})")
	f.BoolVar(&write, "write", false, "add the profiles to the configuration file (default: preview)")
	return c
}

// assignments lists the session's accounts and roles: through the running
// daemon, with the session it holds (whatever share_aws_cli_cache says),
// else with the token in the AWS CLI's cache.
func (a *app) assignments(ctx context.Context, l loaded, session string, sc config.SSOSession) ([]assignment, error) {
	res, err := control.NewClient(l.cfg.StateDir).Assignments(ctx, control.AssignmentsRequest{SSOSession: session})
	switch {
	case err == nil:
		out := make([]assignment, 0, len(res.Assignments))
		for _, as := range res.Assignments {
			out = append(out, assignment{AccountID: as.AccountID, AccountName: as.AccountName, Role: as.Role})
		}
		return out, nil
	case !errors.Is(err, control.ErrNotRunning):
		return nil, clientErr(err)
	}
	home, err := homeDir(a.io.Getenv)
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
	found, err := source.Discover(ctx, source.PortalConfig{Region: sc.Region, Endpoint: sc.Endpoint}.Client(), cached.AccessToken)
	if err != nil {
		return nil, exitf(ExitFailure, "listing the accounts and roles of sso session %s: %w", session, err)
	}
	return found, nil
}

var (
	badNameChars = regexp.MustCompile(`[^A-Za-z0-9_.@/+-]+`)
	manySlashes  = regexp.MustCompile(`/{2,}`)
)

// profileName fills the template and makes the result a valid profile name.
func profileName(template string, as assignment) string {
	account := as.AccountName
	if account == "" {
		account = as.AccountID
	}
	n := strings.NewReplacer("{account}", account, "{account_id}", as.AccountID, "{role}", as.Role).Replace(template)
	n = badNameChars.ReplaceAllString(n, "-")
	n = manySlashes.ReplaceAllString(n, "/")
	var parts []string
	for _, p := range strings.Split(n, "/") {
		p = strings.Trim(p, ".-")
		if p != "" {
			parts = append(parts, p)
		}
	}
	n = strings.Join(parts, "/")
	n = strings.TrimLeft(n, "_.@/+-")
	if len(n) > 64 {
		n = strings.TrimRight(n[:64], "/")
	}
	if n == "" {
		n = as.AccountID + "-" + badNameChars.ReplaceAllString(as.Role, "-")
	}
	return n
}

// addProfiles appends the profiles to the document's profiles mapping,
// leaving everything else (comments included) as it was.
func addProfiles(root *yaml.Node, session string, names []string, adds map[string]assignment) error {
	var profiles *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "profiles" {
			profiles = root.Content[i+1]
		}
	}
	if profiles == nil {
		profiles = &yaml.Node{Kind: yaml.MappingNode}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "profiles"}, profiles)
	}
	if profiles.Kind != yaml.MappingNode {
		if profiles.Tag == "!!null" {
			profiles.Kind, profiles.Tag, profiles.Value = yaml.MappingNode, "", ""
		} else {
			return fmt.Errorf("profiles is not a mapping")
		}
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	for _, name := range names {
		as := adds[name]
		body := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
			str("sso_session"), str(session),
			str("account_id"), {Kind: yaml.ScalarNode, Value: as.AccountID, Style: yaml.DoubleQuotedStyle},
			str("role_name"), str(as.Role),
		}}
		profiles.Content = append(profiles.Content, str(name), body)
	}
	return nil
}

// writeFileAtomic replaces path with data (temp file + rename), keeping
// the file's mode (0600 for a new one).
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.Write(path, data, mode)
}

// awsSSO is what the shared AWS config says about Identity Center.
type awsSSO struct {
	sessions map[string]config.SSOSession
	profiles map[string]config.Profile // SSOSession names a [sso-session]
	legacy   map[string]legacyProfile
	skipped  []string // profiles that cannot be imported, with why
}

// legacyProfile is a profile with sso_start_url and no sso_session: the
// AWS CLI's format from before [sso-session] sections.
type legacyProfile struct {
	session config.SSOSession // sso_start_url and sso_region
	profile config.Profile    // SSOSession is chosen on import
}

// parseAWSConfig reads the [sso-session] sections and the profiles that
// use one or are legacy SSO profiles.
func parseAWSConfig(f *awsfile.File) awsSSO {
	out := awsSSO{sessions: map[string]config.SSOSession{}, profiles: map[string]config.Profile{}, legacy: map[string]legacyProfile{}}
	for _, name := range f.SSOSessions() {
		sec := f.SSOSession(name)
		ss := config.SSOSession{StartURL: sec.Value("sso_start_url"), Region: sec.Value("sso_region")}
		for _, sc := range strings.Split(sec.Value("sso_registration_scopes"), ",") {
			if sc = strings.TrimSpace(sc); sc != "" {
				ss.Scopes = append(ss.Scopes, sc)
			}
		}
		out.sessions[name] = ss
	}
	// missing names the keys of want that the section lacks.
	missing := func(sec *awsfile.Section, want ...string) string {
		var m []string
		for _, k := range want {
			if sec.Value(k) == "" {
				m = append(m, k)
			}
		}
		return strings.Join(m, " and ")
	}
	for _, name := range f.Profiles() {
		sec := f.Profile(name)
		p := config.Profile{AccountID: sec.Value("sso_account_id"), RoleName: sec.Value("sso_role_name"), Region: sec.Value("region")}
		switch session := sec.Value("sso_session"); {
		case session != "":
			if _, ok := out.sessions[session]; !ok {
				out.skipped = append(out.skipped, fmt.Sprintf("profile %s: names no [sso-session %s]", name, session))
				continue
			}
			if m := missing(sec, "sso_account_id", "sso_role_name"); m != "" {
				out.skipped = append(out.skipped, fmt.Sprintf("profile %s: no %s, so no role to serve", name, m))
				continue
			}
			p.SSOSession = session
			out.profiles[name] = p
		case sec.Value("sso_start_url") != "":
			if m := missing(sec, "sso_region", "sso_account_id", "sso_role_name"); m != "" {
				out.skipped = append(out.skipped, fmt.Sprintf("profile %s: a legacy SSO profile (sso_start_url) without %s", name, m))
				continue
			}
			out.legacy[name] = legacyProfile{session: config.SSOSession{StartURL: sec.Value("sso_start_url"), Region: sec.Value("sso_region")}, profile: p}
		}
	}
	return out
}

// ssoKey says which Identity Center a session signs in to: two sessions
// with the same key are the same sign-in.
type ssoKey struct{ startURL, region string }

// keyOf compares start URLs as the portal does: scheme and host in any
// case, with or without the trailing slash and the #/ the console's copy
// of the URL ends with.
func keyOf(s config.SSOSession) ssoKey {
	u := s.StartURL
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		p.Scheme, p.Host, p.Fragment, p.RawFragment = strings.ToLower(p.Scheme), strings.ToLower(p.Host), "", ""
		u = p.String()
	}
	return ssoKey{strings.TrimRight(u, "/"), s.Region}
}

func (k ssoKey) String() string { return k.startURL + " in " + k.region }

// importPlan is what importing the shared AWS config adds to credd's
// configuration: entries under names credd does not use yet, and what the
// preview says about how they were mapped.
type importPlan struct {
	sessions     map[string]config.SSOSession
	sessionOrder []string
	profiles     map[string]config.Profile
	notes        []string // how AWS entries map to credd's
	skipped      []string
}

// added lists the new entries, sessions first.
func (p importPlan) added() []string {
	var out []string
	for _, n := range p.sessionOrder {
		out = append(out, "sso session "+n)
	}
	for _, n := range slices.Sorted(maps.Keys(p.profiles)) {
		out = append(out, "profile "+n)
	}
	return out
}

// planImport decides what to add to existing. It never replaces an entry,
// and never attaches a profile to a session that signs in elsewhere than
// its AWS one: an [sso-session] whose name credd uses for another start
// URL or region is added under a new name (or, if credd has a session
// for its start URL and region, its profiles use that one). Legacy
// profiles use a session with their start URL and region, made if none
// exists.
func planImport(found awsSSO, existing config.Config) importPlan {
	p := importPlan{sessions: map[string]config.SSOSession{}, profiles: map[string]config.Profile{}, skipped: found.skipped}
	known := map[ssoKey]string{} // the first session by name for each sign-in
	for _, name := range slices.Sorted(maps.Keys(existing.SSOSessions)) {
		if k := keyOf(existing.SSOSessions[name]); known[k] == "" {
			known[k] = name
		}
	}
	taken := func(n string) bool {
		_, a := existing.SSOSessions[n]
		_, b := found.sessions[n]
		_, c := p.sessions[n]
		return a || b || c
	}
	unique := func(base string) string {
		if !taken(base) {
			return base
		}
		base = strings.TrimRight(base[:min(len(base), maxSessionName-4)], "_.@/+-")
		for i := 2; ; i++ {
			if n := fmt.Sprintf("%s-%d", base, i); !taken(n) {
				return n
			}
		}
	}
	add := func(name string, ss config.SSOSession) {
		p.sessions[name] = ss
		p.sessionOrder = append(p.sessionOrder, name)
		if k := keyOf(ss); known[k] == "" {
			known[k] = name
		}
	}

	as := map[string]string{} // [sso-session] name -> the credd session its profiles use
	var conflicts []string
	for _, name := range slices.Sorted(maps.Keys(found.sessions)) {
		cur, ok := existing.SSOSessions[name]
		switch {
		case !ok:
			add(name, found.sessions[name])
			as[name] = name
		case keyOf(cur) == keyOf(found.sessions[name]):
			p.skipped = append(p.skipped, "sso session "+name+": already configured")
			as[name] = name
		default:
			conflicts = append(conflicts, name)
		}
	}
	for _, name := range conflicts {
		ss, theirs := found.sessions[name], keyOf(existing.SSOSessions[name])
		if n, ok := known[keyOf(ss)]; ok {
			as[name] = n
			p.notes = append(p.notes, fmt.Sprintf("[sso-session %s] is sso session %s (%s): credd's %s signs in to %s", name, n, keyOf(ss), name, theirs))
			continue
		}
		n := unique(name)
		add(n, ss)
		as[name] = n
		p.notes = append(p.notes, fmt.Sprintf("[sso-session %s] is added as sso session %s (%s): credd's %s signs in to %s", name, n, keyOf(ss), name, theirs))
	}

	names := slices.Sorted(maps.Keys(found.profiles))
	for _, n := range slices.Sorted(maps.Keys(found.legacy)) {
		if _, dup := found.profiles[n]; !dup {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := existing.Profiles[name]; ok {
			p.skipped = append(p.skipped, "profile "+name+": already configured")
			continue
		}
		if prof, ok := found.profiles[name]; ok {
			if s := as[prof.SSOSession]; s != prof.SSOSession {
				p.notes = append(p.notes, fmt.Sprintf("profile %s uses sso session %s ([sso-session %s])", name, s, prof.SSOSession))
				prof.SSOSession = s
			}
			p.profiles[name] = prof
			continue
		}
		lp := found.legacy[name]
		k := keyOf(lp.session)
		s, ok := known[k]
		if !ok {
			s = unique(sessionNameFor(lp.session.StartURL))
			add(s, lp.session)
		}
		lp.profile.SSOSession = s
		p.profiles[name] = lp.profile
		p.notes = append(p.notes, fmt.Sprintf("profile %s, a legacy SSO profile (%s), uses sso session %s", name, k, s))
	}
	return p
}

// maxSessionName is the longest name validation accepts.
const maxSessionName = 64

// sessionNameFor derives a session name from a start URL: the first label
// of its host (https://corp.awsapps.com/start: corp).
func sessionNameFor(startURL string) string {
	var name string
	if u, err := url.Parse(startURL); err == nil && net.ParseIP(u.Hostname()) == nil {
		name, _, _ = strings.Cut(u.Hostname(), ".")
	}
	name = strings.Trim(badNameChars.ReplaceAllString(name, "-"), "_.@/+-")
	if name == "" {
		return "sso"
	}
	return name[:min(len(name), maxSessionName)]
}

// importAWSConfig adds the shared AWS config's Identity Center sessions
// and profiles to credd's configuration, never replacing an entry.
func (a *app) importAWSConfig(l loaded, write bool) error {
	paths, err := a.awsFiles()
	if err != nil {
		return exitf(ExitFailure, "%w", err)
	}
	cfgFile := paths.Config
	awsConfig, err := awsfile.ReadFile(cfgFile, awsfile.Config)
	if err != nil {
		return exitf(ExitUsage, "reading the AWS config: %w", err)
	}
	var existing config.Config
	var doc yaml.Node
	if l.fromFile {
		b, err := os.ReadFile(l.path)
		if err != nil {
			return exitf(ExitFailure, "%w", err)
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return exitf(ExitUsage, "%s: %w", l.path, err)
		}
		existing = l.cfg
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return exitf(ExitUsage, "%s is not a YAML mapping", l.path)
	}
	plan := planImport(parseAWSConfig(awsConfig), existing)
	for _, name := range plan.sessionOrder {
		node := &yaml.Node{}
		if err := node.Encode(plan.sessions[name]); err != nil {
			return exitf(ExitFailure, "%w", err)
		}
		mapping(root, "sso_sessions").Content = append(mapping(root, "sso_sessions").Content, scalar(name), node)
	}
	for _, name := range slices.Sorted(maps.Keys(plan.profiles)) {
		node := &yaml.Node{}
		if err := node.Encode(plan.profiles[name]); err != nil {
			return exitf(ExitFailure, "%w", err)
		}
		node.Style = yaml.FlowStyle
		mapping(root, "profiles").Content = append(mapping(root, "profiles").Content, scalar(name), node)
	}
	added := plan.added()
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return exitf(ExitFailure, "%w", err)
	}
	_ = enc.Close()
	for _, why := range plan.skipped {
		fmt.Fprintf(a.io.Err, "skipped %s\n", why)
	}
	if len(added) == 0 {
		fmt.Fprintf(a.io.Err, "nothing to import from %s\n", cfgFile)
		return nil
	}
	for _, n := range plan.notes {
		fmt.Fprintln(a.io.Err, n)
	}
	// The result must be a valid configuration before it is written.
	merged, err := config.Parse(bytes.NewReader(out.Bytes()))
	if err == nil {
		err = merged.Validate()
	}
	if err != nil {
		return exitf(ExitUsage, "the imported configuration would not be valid, nothing written:\n%w", err)
	}
	fmt.Fprintf(a.io.Out, "%s", out.String())
	if !write {
		fmt.Fprintf(a.io.Err, "preview: would add %s; run again with --write to write %s\n", strings.Join(added, ", "), l.path)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return exitf(ExitFailure, "%w", err)
	}
	if err := writeFileAtomic(l.path, out.Bytes()); err != nil {
		return exitf(ExitFailure, "writing %s: %w", l.path, err)
	}
	fmt.Fprintf(a.io.Err, "added %s to %s\n", strings.Join(added, ", "), l.path)
	return nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// mapping returns the mapping under key in root, adding it if missing.
func mapping(root *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			n := root.Content[i+1]
			if n.Kind != yaml.MappingNode { // "profiles:" with nothing under it
				n.Kind, n.Tag, n.Value, n.Style = yaml.MappingNode, "", "", 0
			}
			return n
		}
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = append(root.Content, scalar(key), n)
	return n
}
