// Package config owns credd's configuration: the schema of DESIGN.md §2,
// defaults (the per-OS places of §6 among them), strict parsing (unknown
// keys are errors) and validation that reports every problem at once, each
// with its key path; the CREDD_<KEY> variables' names (EnvName,
// UnknownEnv); the configuration made of the shared AWS files when there
// is no file (AWSProfiles); and what `credd config init` adds to a file
// (PlanImport, PlanRoles), written into it without touching anything else
// (ImportPlan.Apply, WriteFile).
//
// Nothing here reads flags or the environment: cmd/credd does that and
// hands the result over through Set, or passes its getenv.
package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration.
type Config struct {
	Listen            string                      `yaml:"listen"`
	AllowUsers        []string                    `yaml:"allow_users,omitempty"`
	ExtraListen       []Listener                  `yaml:"extra_listen,omitempty"`
	AllowClients      []string                    `yaml:"allow_clients,omitempty"`
	Clients           map[string]Client           `yaml:"clients,omitempty"`
	StateDir          string                      `yaml:"state_dir"`
	DefaultProfile    string                      `yaml:"default_profile"`
	SessionStore      string                      `yaml:"session_store"`
	IMDS              IMDS                        `yaml:"imds,omitempty"`
	Refresh           Refresh                     `yaml:"refresh,omitempty"`
	STS               STS                         `yaml:"sts,omitempty"`
	IAM               IAM                         `yaml:"iam,omitempty"`
	Console           Console                     `yaml:"console,omitempty"`
	SSOSessions       map[string]SSOSession       `yaml:"sso_sessions,omitempty"`
	IdentityProviders map[string]IdentityProvider `yaml:"identity_providers,omitempty"`
	// SignIn configures AWS Sign-In (`aws login`) sessions, which
	// profiles name with login_session.
	SignIn SignIn `yaml:"signin,omitempty"`
	// SignInOnDemand is what a request for a profile whose session needs a
	// sign-in does: notify (the default), browser or off.
	SignInOnDemand string `yaml:"sign_in_on_demand,omitempty"`
	// SignInOnDemandBackoff is how long after an abandoned sign-in no
	// browser opens on its own (sign_in_on_demand: browser).
	SignInOnDemandBackoff Duration           `yaml:"sign_in_on_demand_backoff,omitempty"`
	Profiles              map[string]Profile `yaml:"profiles,omitempty"`
}

// sign_in_on_demand values.
const (
	OnDemandNotify  = "notify"
	OnDemandBrowser = "browser"
	OnDemandOff     = "off"
)

// DefaultOnDemandBackoff is sign_in_on_demand_backoff's default.
const DefaultOnDemandBackoff = 10 * time.Minute

// SignIn configures AWS Sign-In, the service behind `aws login`.
type SignIn struct {
	// Endpoint overrides https://<region>.signin.aws.amazon.com (tests).
	Endpoint string `yaml:"endpoint,omitempty"`
	// ShareAWSCLICache reads and writes the AWS CLI's login cache
	// (~/.aws/login/cache, or AWS_LOGIN_CACHE_DIRECTORY) so that `aws`
	// and the SDKs use credd's sessions; default true.
	ShareAWSCLICache *bool `yaml:"share_aws_cli_cache,omitempty"`
}

// SharesAWSCLICache reports signin.share_aws_cli_cache (default true).
func (s SignIn) SharesAWSCLICache() bool { return s.ShareAWSCLICache == nil || *s.ShareAWSCLICache }

// Self in allow_users stands for the user credd runs as.
const Self = "self"

// Listener is one extra_listen entry: an address facing other hosts (a
// container bridge) and the policy of the connections it accepts. In YAML
// it is either the address alone or a mapping.
type Listener struct {
	Address string `yaml:"address"`
	// AllowClients are the networks whose connections are accepted;
	// empty: the top-level allow_clients.
	AllowClients []string `yaml:"allow_clients,omitempty"`
	// Profile is what IMDS lists and /v1/credentials serves here; empty:
	// default_profile.
	Profile string `yaml:"profile,omitempty"`
	// Client, if set, is the only client whose token the container
	// endpoint accepts here (not even the owner token).
	Client string `yaml:"client,omitempty"`
}

// Addr makes a plain Listener of an address.
func Addr(address string) Listener { return Listener{Address: address} }

func (l *Listener) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = Listener{Address: n.Value}
		return nil
	}
	type plain Listener
	return n.Decode((*plain)(l))
}

// MarshalYAML writes a Listener with nothing but an address as the address.
func (l Listener) MarshalYAML() (any, error) {
	if l.AllowClients == nil && l.Profile == "" && l.Client == "" {
		return l.Address, nil
	}
	type plain Listener
	return plain(l), nil
}

// Networks are the CIDRs allowed on the listener: its own, else the
// top-level allow_clients.
func (c Config) Networks(l Listener) []string {
	if len(l.AllowClients) > 0 {
		return l.AllowClients
	}
	return c.AllowClients
}

// Addresses are the listen address and every extra_listen address.
func (c Config) Addresses() []string {
	out := []string{c.Listen}
	for _, l := range c.ExtraListen {
		out = append(out, l.Address)
	}
	return out
}

// Client is a scoped client: a token of its own (<state_dir>/clients/
// NAME.token) that the container endpoint honours for these profiles only.
type Client struct {
	Profiles []string `yaml:"profiles"`
}

// DefaultClient names the owner token (<state_dir>/token) in the audit
// log; no scoped client may take the name.
const DefaultClient = "default"

// IMDS configures the instance metadata endpoint.
type IMDS struct {
	AllowV1  bool `yaml:"allow_v1,omitempty"`
	HopLimit int  `yaml:"hop_limit,omitempty"`
}

// Refresh configures when credentials are renewed.
type Refresh struct {
	Ahead     Duration `yaml:"ahead,omitempty"`
	IdleAfter Duration `yaml:"idle_after,omitempty"`
	// FetchTimeout bounds every upstream fetch; a credential_process still
	// running then is killed with its process group.
	FetchTimeout Duration `yaml:"fetch_timeout,omitempty"`
}

// STS configures the Security Token Service client.
type STS struct {
	Region   string `yaml:"region,omitempty"`
	Endpoint string `yaml:"endpoint,omitempty"`
}

// IAM configures the IAM client of `credd rotate`.
type IAM struct {
	Endpoint string `yaml:"endpoint,omitempty"`
}

// Console configures console sign-in links.
type Console struct {
	Issuer             string `yaml:"issuer,omitempty"`
	FederationEndpoint string `yaml:"federation_endpoint,omitempty"`
}

// SSOSession is an AWS IAM Identity Center sign-in.
type SSOSession struct {
	StartURL         string   `yaml:"start_url,omitempty"`
	Region           string   `yaml:"region,omitempty"`
	Scopes           []string `yaml:"scopes,omitempty"`
	Flow             string   `yaml:"flow,omitempty"`
	Endpoint         string   `yaml:"endpoint,omitempty"`
	ShareAWSCLICache *bool    `yaml:"share_aws_cli_cache,omitempty"`
}

// IdentityProvider is an OpenID Connect provider.
type IdentityProvider struct {
	Issuer          string   `yaml:"issuer,omitempty"`
	ClientID        string   `yaml:"client_id,omitempty"`
	ClientSecretEnv string   `yaml:"client_secret_env,omitempty"`
	Scopes          []string `yaml:"scopes,omitempty"`
	Flow            string   `yaml:"flow,omitempty"`
}

// Profile is one set of role credentials credd serves.
type Profile struct {
	SSOSession string `yaml:"sso_session,omitempty"`
	// LoginSession is an AWS Sign-In session (`aws login`): the signed-in
	// user's ARN, as ~/.aws/config's login_session holds it. credd holds
	// the session and serves its credentials.
	LoginSession          string            `yaml:"login_session,omitempty"`
	AccountID             string            `yaml:"account_id,omitempty"`
	RoleName              string            `yaml:"role_name,omitempty"`
	IdentityProvider      string            `yaml:"identity_provider,omitempty"`
	RoleARN               string            `yaml:"role_arn,omitempty"`
	SessionNameClaim      string            `yaml:"session_name_claim,omitempty"`
	SessionTagsFromClaims map[string]string `yaml:"session_tags_from_claims,omitempty"`
	TransitiveTagKeys     []string          `yaml:"transitive_tag_keys,omitempty"`
	SourceProfile         string            `yaml:"source_profile,omitempty"`
	ExternalID            string            `yaml:"external_id,omitempty"`
	SessionTags           map[string]string `yaml:"session_tags,omitempty"`
	SourceIdentity        string            `yaml:"source_identity,omitempty"`
	AWSProfile            string            `yaml:"aws_profile,omitempty"`
	Region                string            `yaml:"region,omitempty"`
	Duration              Duration          `yaml:"duration,omitempty"`
	RoleSessionName       string            `yaml:"role_session_name,omitempty"`
	Console               ProfileConsole    `yaml:"console,omitempty"`
	// MFASerial is the MFA device of the IAM user keys the profile rests
	// on: credd then calls sts:GetSessionToken with a code from it, and
	// assumes roles from that MFA session. An aws_profile may also name
	// it in ~/.aws/config.
	MFASerial string `yaml:"mfa_serial,omitempty"`
	// MFAProcess is a command that prints the current code (aws-vault's
	// mfa_process), so nobody is asked for it.
	MFAProcess string `yaml:"mfa_process,omitempty"`
	// MFASessionDuration is the length of the MFA session
	// (GetSessionToken's DurationSeconds).
	MFASessionDuration Duration `yaml:"mfa_session_duration,omitempty"`
}

// ProfileConsole configures console links for one profile.
type ProfileConsole struct {
	Destination     string   `yaml:"destination,omitempty"`
	SessionDuration Duration `yaml:"session_duration,omitempty"`
	// Policy and PolicyARNs bound the sts:GetFederationToken session that
	// IAM user keys (aws_profile) sign in with; neither: allow all, which
	// leaves the user's own permissions.
	Policy     string   `yaml:"policy,omitempty"`
	PolicyARNs []string `yaml:"policy_arns,omitempty"`
}

// SourceKind names where a profile's credentials come from.
type SourceKind string

const (
	SourceNone       SourceKind = ""
	SourceSSO        SourceKind = "sso_session"
	SourceOIDC       SourceKind = "identity_provider"
	SourceAssumeRole SourceKind = "source_profile"
	SourceAWSProfile SourceKind = "aws_profile"
	SourceSignIn     SourceKind = "login_session"
)

// LoginCommand is the command that signs profile in: through its sso
// session or identity provider, else by its own name.
func (c Config) LoginCommand(profile string) string {
	switch p := c.Profiles[profile]; {
	case p.SSOSession != "":
		return "credd login --sso-session " + p.SSOSession
	case p.IdentityProvider != "":
		return "credd login --provider " + p.IdentityProvider
	case p.LoginSession != "":
		return "credd login --signin --profile " + profile
	}
	return "credd login --profile " + profile
}

// Sources lists every source the profile names. A valid profile has one.
func (p Profile) Sources() []SourceKind {
	var s []SourceKind
	if p.SSOSession != "" {
		s = append(s, SourceSSO)
	}
	if p.IdentityProvider != "" && p.SourceProfile == "" {
		s = append(s, SourceOIDC)
	}
	if p.SourceProfile != "" {
		s = append(s, SourceAssumeRole)
	}
	if p.AWSProfile != "" {
		s = append(s, SourceAWSProfile)
	}
	if p.LoginSession != "" {
		s = append(s, SourceSignIn)
	}
	return s
}

// Source is the profile's one source, or SourceNone.
func (p Profile) Source() SourceKind {
	if s := p.Sources(); len(s) == 1 {
		return s[0]
	}
	return SourceNone
}

// DefaultDuration is the role session length when a profile sets none.
const DefaultDuration = time.Hour

// SessionDuration is the profile's duration or the default.
func (p Profile) SessionDuration() time.Duration {
	if p.Duration.Duration > 0 {
		return p.Duration.Duration
	}
	return DefaultDuration
}

// DefaultMFASessionDuration is how long one MFA code serves when a
// profile sets no mfa_session_duration.
const DefaultMFASessionDuration = 12 * time.Hour

// MFADuration is the profile's mfa_session_duration or the default.
func (p Profile) MFADuration() time.Duration {
	if p.MFASessionDuration.Duration > 0 {
		return p.MFASessionDuration.Duration
	}
	return DefaultMFASessionDuration
}

// Default returns the configuration that applies where the file says nothing.
func Default() Config {
	return Config{
		Listen:                "127.0.0.1:9955",
		AllowUsers:            []string{Self},
		SessionStore:          "auto",
		IMDS:                  IMDS{HopLimit: 1},
		Refresh:               Refresh{Ahead: Dur(20 * time.Minute), IdleAfter: Dur(12 * time.Hour), FetchTimeout: Dur(time.Minute)},
		STS:                   STS{Region: "us-east-1"},
		Console:               Console{Issuer: "credd"},
		SignInOnDemand:        OnDemandNotify,
		SignInOnDemandBackoff: Dur(DefaultOnDemandBackoff),
	}
}

// Duration is a time.Duration written as "20m" or "1h30m". A value that does
// not parse is kept and reported by Validate under its key.
type Duration struct {
	time.Duration
	raw string
	bad bool
}

// Dur makes a Duration.
func Dur(d time.Duration) Duration { return Duration{Duration: d} }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	*d = Duration{raw: n.Value}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.bad = true
		return nil
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String prints the duration as it was written, or in its shortest form.
func (d Duration) String() string {
	if d.raw != "" {
		return d.raw
	}
	s := d.Duration.String() // e.g. 1h20m0s
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (d *Duration) set(v string) error {
	if err := d.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Value: v}); err != nil {
		return err
	}
	if d.bad {
		return fmt.Errorf("invalid duration %q (use e.g. 20m or 1h30m)", v)
	}
	return nil
}

// Redacted returns a copy safe to print: values that work like secrets are
// replaced.
func (c Config) Redacted() Config {
	out := c
	out.Profiles = make(map[string]Profile, len(c.Profiles))
	for name, p := range c.Profiles {
		if p.ExternalID != "" {
			p.ExternalID = "<redacted>"
		}
		out.Profiles[name] = p
	}
	return out
}
