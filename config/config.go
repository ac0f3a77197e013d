// Package config owns credd's configuration: the schema of DESIGN.md §2,
// defaults, strict parsing (unknown keys are errors) and validation that
// reports every problem at once, each with its key path.
//
// Nothing here reads flags or the environment: cmd/credd does that and
// hands the result over through Set.
package config

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration.
type Config struct {
	Listen            string                      `yaml:"listen"`
	ExtraListen       []string                    `yaml:"extra_listen"`
	AllowClients      []string                    `yaml:"allow_clients"`
	StateDir          string                      `yaml:"state_dir"`
	DefaultProfile    string                      `yaml:"default_profile"`
	SessionStore      string                      `yaml:"session_store"`
	IMDS              IMDS                        `yaml:"imds"`
	Refresh           Refresh                     `yaml:"refresh"`
	STS               STS                         `yaml:"sts"`
	Console           Console                     `yaml:"console"`
	SSOSessions       map[string]SSOSession       `yaml:"sso_sessions"`
	IdentityProviders map[string]IdentityProvider `yaml:"identity_providers"`
	Profiles          map[string]Profile          `yaml:"profiles"`
}

// IMDS configures the instance metadata endpoint.
type IMDS struct {
	AllowV1  bool `yaml:"allow_v1"`
	HopLimit int  `yaml:"hop_limit"`
}

// Refresh configures when credentials are renewed.
type Refresh struct {
	Ahead     Duration `yaml:"ahead"`
	IdleAfter Duration `yaml:"idle_after"`
}

// STS configures the Security Token Service client.
type STS struct {
	Region   string `yaml:"region"`
	Endpoint string `yaml:"endpoint"`
}

// Console configures console sign-in links.
type Console struct {
	Issuer             string `yaml:"issuer"`
	FederationEndpoint string `yaml:"federation_endpoint"`
}

// SSOSession is an AWS IAM Identity Center sign-in.
type SSOSession struct {
	StartURL         string   `yaml:"start_url"`
	Region           string   `yaml:"region"`
	Scopes           []string `yaml:"scopes"`
	Flow             string   `yaml:"flow"`
	Endpoint         string   `yaml:"endpoint"`
	ShareAWSCLICache *bool    `yaml:"share_aws_cli_cache"`
}

// IdentityProvider is an OpenID Connect provider.
type IdentityProvider struct {
	Issuer          string   `yaml:"issuer"`
	ClientID        string   `yaml:"client_id"`
	ClientSecretEnv string   `yaml:"client_secret_env"`
	Scopes          []string `yaml:"scopes"`
	Flow            string   `yaml:"flow"`
}

// Profile is one set of role credentials credd serves.
type Profile struct {
	SSOSession            string            `yaml:"sso_session"`
	AccountID             string            `yaml:"account_id"`
	RoleName              string            `yaml:"role_name"`
	IdentityProvider      string            `yaml:"identity_provider"`
	RoleARN               string            `yaml:"role_arn"`
	SessionNameClaim      string            `yaml:"session_name_claim"`
	SessionTagsFromClaims map[string]string `yaml:"session_tags_from_claims"`
	TransitiveTagKeys     []string          `yaml:"transitive_tag_keys"`
	SourceProfile         string            `yaml:"source_profile"`
	ExternalID            string            `yaml:"external_id"`
	SessionTags           map[string]string `yaml:"session_tags"`
	SourceIdentity        string            `yaml:"source_identity"`
	AWSProfile            string            `yaml:"aws_profile"`
	Region                string            `yaml:"region"`
	Duration              Duration          `yaml:"duration"`
	RoleSessionName       string            `yaml:"role_session_name"`
	Console               ProfileConsole    `yaml:"console"`
}

// ProfileConsole configures console links for one profile.
type ProfileConsole struct {
	Destination     string   `yaml:"destination"`
	SessionDuration Duration `yaml:"session_duration"`
}

// SourceKind names where a profile's credentials come from.
type SourceKind string

const (
	SourceNone       SourceKind = ""
	SourceSSO        SourceKind = "sso_session"
	SourceOIDC       SourceKind = "identity_provider"
	SourceAssumeRole SourceKind = "source_profile"
	SourceAWSProfile SourceKind = "aws_profile"
)

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

// Default returns the configuration that applies where the file says nothing.
func Default() Config {
	return Config{
		Listen:       "127.0.0.1:9955",
		SessionStore: "auto",
		IMDS:         IMDS{HopLimit: 1},
		Refresh:      Refresh{Ahead: Dur(20 * time.Minute), IdleAfter: Dur(12 * time.Hour)},
		STS:          STS{Region: "us-east-1"},
		Console:      Console{Issuer: "credd"},
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
	s := d.Duration.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	if s == "" {
		return "0s"
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
