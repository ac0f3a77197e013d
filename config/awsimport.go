package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/private"
)

// ImportPlan is what `credd config init` adds to a configuration: entries
// under names the configuration does not use yet, what the preview says
// about how they were chosen, and what was left out and why. Nothing in
// it replaces an entry.
type ImportPlan struct {
	SSOSessions  map[string]SSOSession
	SessionOrder []string // the order they are added in
	Profiles     map[string]Profile
	ProfileOrder []string
	Notes        []string // how entries of the source map to credd's
	Skipped      []string // what was left out, with why
}

func newPlan() ImportPlan {
	return ImportPlan{SSOSessions: map[string]SSOSession{}, Profiles: map[string]Profile{}}
}

func (p *ImportPlan) addSession(name string, s SSOSession) {
	p.SSOSessions[name] = s
	p.SessionOrder = append(p.SessionOrder, name)
}

func (p *ImportPlan) addProfile(name string, prof Profile) {
	p.Profiles[name] = prof
	p.ProfileOrder = append(p.ProfileOrder, name)
}

// Added lists the new entries, sessions first: "sso session corp",
// "profile dev".
func (p ImportPlan) Added() []string {
	var out []string
	for _, n := range p.SessionOrder {
		out = append(out, "sso session "+n)
	}
	for _, n := range p.ProfileOrder {
		out = append(out, "profile "+n)
	}
	return out
}

// Apply adds the plan's entries to data, a configuration file's content
// (empty for a new file): sessions under sso_sessions, profiles (one line
// each) under profiles. Everything else, comments included, is kept as it
// was. The result must parse and validate, or nothing is returned.
func (p ImportPlan) Apply(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	add := func(section, name string, v any, style yaml.Style) error {
		into, err := mapping(root, section)
		if err != nil {
			return err
		}
		node := &yaml.Node{}
		if err := node.Encode(v); err != nil {
			return err
		}
		node.Style = style
		into.Content = append(into.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, node)
		return nil
	}
	for _, n := range p.SessionOrder {
		if err := add("sso_sessions", n, p.SSOSessions[n], 0); err != nil {
			return nil, err
		}
	}
	for _, n := range p.ProfileOrder {
		if err := add("profiles", n, p.Profiles[n], yaml.FlowStyle); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	merged, err := Parse(bytes.NewReader(out.Bytes()))
	if err == nil {
		err = merged.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("the result would not be valid, nothing written:\n%w", err)
	}
	return out.Bytes(), nil
}

// mapping is the mapping under key in root, added if missing; a key with
// nothing under it ("profiles:") becomes an empty mapping.
func mapping(root *yaml.Node, key string) (*yaml.Node, error) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != key {
			continue
		}
		n := root.Content[i+1]
		switch {
		case n.Kind == yaml.MappingNode:
		case n.Tag == "!!null":
			n.Kind, n.Tag, n.Value, n.Style = yaml.MappingNode, "", "", 0
		default:
			return nil, fmt.Errorf("%s is not a mapping", key)
		}
		return n, nil
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, n)
	return n, nil
}

// WriteFile replaces the configuration file at path with data (temp file +
// rename), keeping its mode; a new file is 0600 in a directory made 0700.
func WriteFile(path string, data []byte) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	} else if err := private.MkdirAll(filepath.Dir(path)); err != nil {
		return err
	}
	return atomicfile.Write(path, data, mode)
}

// awsSSO is what the shared AWS config says about Identity Center, and
// about AWS Sign-In (`aws login`).
type awsSSO struct {
	sessions map[string]SSOSession
	profiles map[string]Profile // SSOSession names a [sso-session]
	legacy   map[string]legacyProfile
	signin   map[string]Profile // LoginSession is set
	skipped  []string           // profiles that cannot be imported, with why
}

// AWSLoginSession says whether a profile of the shared AWS config (get
// reads one of its keys) is an AWS Sign-In session as the AWS SDKs read
// it: its login_session when that is what they sign the profile in with,
// and nothing else is done with it. Else, for a profile that names
// login_session, why it is not one (an ARN that is not a signed-in user's,
// a source the SDKs take before it, a role assumed with it); "" and ""
// for a profile without login_session.
func AWSLoginSession(get func(key string) string) (arn, why string) {
	arn = strings.TrimSpace(get("login_session"))
	if arn == "" {
		return "", ""
	}
	// The AWS SDKs' order (aws-sdk-go-v2's resolveCredsFromProfile,
	// botocore's provider chain): a role's source profile, keys, a
	// credential source, a web identity, Identity Center, then
	// login_session; a role_arn is assumed with whichever it was.
	for _, k := range []string{"source_profile", "aws_access_key_id", "credential_source", "web_identity_token_file", "sso_session", "sso_start_url"} {
		if get(k) != "" {
			return "", "the AWS SDKs use its " + k + ", not its login_session"
		}
	}
	if get("role_arn") != "" {
		return "", "it assumes role_arn with its login_session: import the session as a profile of its own, then add a profile with source_profile and role_arn on it"
	}
	if !LoginSessionARN(arn) {
		return "", fmt.Sprintf("login_session %q is not the ARN of a signed-in user", arn)
	}
	return arn, ""
}

// legacyProfile is a profile with sso_start_url and no sso_session: the
// AWS CLI's format from before [sso-session] sections.
type legacyProfile struct {
	session SSOSession // sso_start_url and sso_region
	profile Profile    // SSOSession is chosen on import
}

// readAWSSSO reads the [sso-session] sections and the profiles that use
// one or are legacy SSO profiles.
func readAWSSSO(f *awsfile.File) awsSSO {
	out := awsSSO{sessions: map[string]SSOSession{}, profiles: map[string]Profile{}, legacy: map[string]legacyProfile{}, signin: map[string]Profile{}}
	for _, name := range f.SSOSessions() {
		sec := f.SSOSession(name)
		ss := SSOSession{StartURL: sec.Value("sso_start_url"), Region: sec.Value("sso_region")}
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
		switch arn, why := AWSLoginSession(sec.Value); {
		case arn != "":
			out.signin[name] = Profile{LoginSession: arn, Region: sec.Value("region")}
			continue
		case why != "" && sec.Value("sso_session") == "" && sec.Value("sso_start_url") == "":
			out.skipped = append(out.skipped, fmt.Sprintf("profile %s: names login_session, but %s", name, why))
			continue
		}
		p := Profile{AccountID: sec.Value("sso_account_id"), RoleName: sec.Value("sso_role_name"), Region: sec.Value("region")}
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
			out.legacy[name] = legacyProfile{session: SSOSession{StartURL: sec.Value("sso_start_url"), Region: sec.Value("sso_region")}, profile: p}
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
func keyOf(s SSOSession) ssoKey {
	u := s.StartURL
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		p.Scheme, p.Host, p.Fragment, p.RawFragment = strings.ToLower(p.Scheme), strings.ToLower(p.Host), "", ""
		u = p.String()
	}
	return ssoKey{strings.TrimRight(u, "/"), s.Region}
}

func (k ssoKey) String() string { return k.startURL + " in " + k.region }

// PlanImport plans the import of the shared AWS config's IAM Identity
// Center sessions and profiles, and its AWS Sign-In profiles
// (login_session, AWSLoginSession), into existing. It never replaces an entry,
// and never attaches a profile to a session that signs in elsewhere than
// its AWS one: an [sso-session] whose name credd uses for another start
// URL or region is added under a new name (or, if credd has a session for
// its start URL and region, its profiles use that one). Legacy profiles
// use a session with their start URL and region, made if none exists.
func PlanImport(awsConfig *awsfile.File, existing Config) ImportPlan {
	found := readAWSSSO(awsConfig)
	p := newPlan()
	p.Skipped = found.skipped
	known := map[ssoKey]string{} // the first session by name for each sign-in
	for _, name := range slices.Sorted(maps.Keys(existing.SSOSessions)) {
		if k := keyOf(existing.SSOSessions[name]); known[k] == "" {
			known[k] = name
		}
	}
	taken := func(n string) bool {
		_, a := existing.SSOSessions[n]
		_, b := found.sessions[n]
		_, c := p.SSOSessions[n]
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
	add := func(name string, ss SSOSession) {
		p.addSession(name, ss)
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
			p.Skipped = append(p.Skipped, "sso session "+name+": already configured")
			as[name] = name
		default:
			conflicts = append(conflicts, name)
		}
	}
	for _, name := range conflicts {
		ss, theirs := found.sessions[name], keyOf(existing.SSOSessions[name])
		if n, ok := known[keyOf(ss)]; ok {
			as[name] = n
			p.Notes = append(p.Notes, fmt.Sprintf("[sso-session %s] is sso session %s (%s): credd's %s signs in to %s", name, n, keyOf(ss), name, theirs))
			continue
		}
		n := unique(name)
		add(n, ss)
		as[name] = n
		p.Notes = append(p.Notes, fmt.Sprintf("[sso-session %s] is added as sso session %s (%s): credd's %s signs in to %s", name, n, keyOf(ss), name, theirs))
	}

	// A profile of the AWS config is in one of these at most.
	names := slices.Concat(slices.Collect(maps.Keys(found.profiles)), slices.Collect(maps.Keys(found.legacy)), slices.Collect(maps.Keys(found.signin)))
	slices.Sort(names)
	names = slices.Compact(names)
	for _, name := range names {
		if _, ok := existing.Profiles[name]; ok {
			p.Skipped = append(p.Skipped, "profile "+name+": already configured")
			continue
		}
		if prof, ok := found.signin[name]; ok {
			p.addProfile(name, prof)
			continue
		}
		if prof, ok := found.profiles[name]; ok {
			if s := as[prof.SSOSession]; s != prof.SSOSession {
				p.Notes = append(p.Notes, fmt.Sprintf("profile %s uses sso session %s ([sso-session %s])", name, s, prof.SSOSession))
				prof.SSOSession = s
			}
			p.addProfile(name, prof)
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
		p.addProfile(name, lp.profile)
		p.Notes = append(p.Notes, fmt.Sprintf("profile %s, a legacy SSO profile (%s), uses sso session %s", name, k, s))
	}
	return p
}

// maxSessionName is the longest name validation accepts.
const maxSessionName = 64

var (
	badNameChars = regexp.MustCompile(`[^A-Za-z0-9_.@/+-]+`)
	manySlashes  = regexp.MustCompile(`/{2,}`)
)

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

// Role is one role of one account that an Identity Center user may use.
type Role struct {
	AccountID, AccountName, Name string
}

// DefaultRoleTemplate names the profiles of PlanRoles.
const DefaultRoleTemplate = "{account}/{role}"

// PlanRoles plans a profile for each of the roles an Identity Center
// session may use, in their order, named by template ({account}, the
// account's name; {account_id}; {role}). A name that existing has, or
// that the template gives two roles, is skipped.
func PlanRoles(existing Config, session, template string, roles []Role) ImportPlan {
	p := newPlan()
	for _, r := range roles {
		name := RoleProfileName(template, r)
		if _, taken := existing.Profiles[name]; taken {
			p.Skipped = append(p.Skipped, name+": a profile by that name exists")
			continue
		}
		if _, dup := p.Profiles[name]; dup {
			p.Skipped = append(p.Skipped, name+": the template gives another assignment this name (use {role} in --template)")
			continue
		}
		p.addProfile(name, Profile{SSOSession: session, AccountID: r.AccountID, RoleName: r.Name})
	}
	return p
}

// RoleProfileName fills the template and makes the result a valid profile
// name.
func RoleProfileName(template string, r Role) string {
	account := r.AccountName
	if account == "" {
		account = r.AccountID
	}
	n := strings.NewReplacer("{account}", account, "{account_id}", r.AccountID, "{role}", r.Name).Replace(template)
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
		n = r.AccountID + "-" + badNameChars.ReplaceAllString(r.Name, "-")
	}
	return n
}

// PlanImportFile plans the import of the shared AWS config at awsConfig
// into l's configuration (PlanImport) and applies it to l's file (Apply):
// the plan, and the file as it would be; no file when the plan adds
// nothing. A plan that cannot be applied is returned with its error, so
// that what it skipped can be told.
func PlanImportFile(awsConfig string, l Loaded) (ImportPlan, []byte, error) {
	f, err := awsfile.ReadFile(awsConfig, awsfile.Config)
	if err != nil {
		return ImportPlan{}, nil, cred.Errorf(cred.ErrInvalid, "reading the AWS config: %w", err)
	}
	var existing Config
	var data []byte
	if l.FromFile {
		if data, err = os.ReadFile(l.Path); err != nil {
			return ImportPlan{}, nil, err
		}
		existing = l.Config
	}
	plan := PlanImport(f, existing)
	if len(plan.Added()) == 0 {
		return plan, nil, nil
	}
	out, err := plan.Apply(data)
	if err != nil {
		return plan, nil, cred.Errorf(cred.ErrInvalid, "%s: %w", l.Path, err)
	}
	return plan, out, nil
}

// ApplyFile adds the plan's entries to the configuration file at path,
// creating it if needed (Apply, then WriteFile).
func (p ImportPlan) ApplyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := p.Apply(data)
	if err != nil {
		return cred.Errorf(cred.ErrInvalid, "%s: %w", path, err)
	}
	if err := WriteFile(path, out); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
