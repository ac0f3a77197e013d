package daemon

import (
	"strings"
	"testing"

	"github.com/credd/credd/config"
)

// TestSessionOf: the session a profile's credentials rest on, through
// its source_profile chain, so that an ended sign-in also stops the
// profiles chained to it.
func TestSessionOf(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader(`sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
identity_providers:
  okta: {issuer: "https://okta.example.com", client_id: c}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
  admin: {source_profile: dev, role_arn: "arn:aws:iam::111122223333:role/admin"}
  deeper: {source_profile: admin, role_arn: "arn:aws:iam::111122223333:role/deeper"}
  web: {identity_provider: okta, role_arn: "arn:aws:iam::111122223333:role/web"}
  keys: {aws_profile: keys}
  broker: {source_profile: keys, identity_provider: okta, role_arn: "arn:aws:iam::111122223333:role/b", session_tags_from_claims: {Tenant: tenant}}
  onkeys: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/k"}
`))
	if err != nil {
		t.Fatal(err)
	}
	for profile, want := range map[string]string{
		"dev": "sso/corp", "admin": "sso/corp", "deeper": "sso/corp",
		"web": "oidc/okta", "broker": "oidc/okta",
		"keys": "", "onkeys": "", "missing": "",
	} {
		t.Run(profile, func(t *testing.T) {
			if got := sessionOf(cfg, profile); got != want {
				t.Errorf("sessionOf(%s) = %q, want %q", profile, got, want)
			}
		})
	}
}
