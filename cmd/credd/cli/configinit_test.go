package cli

import (
	"strings"
	"testing"

	"github.com/credd/credd/awsfile"
)

func TestProfileName(t *testing.T) {
	for _, tc := range []struct {
		name, template string
		as             assignment
		want           string
	}{
		{"default", "{account}/{role}", assignment{AccountID: "111122223333", AccountName: "dev", Role: "Developer"}, "dev/Developer"},
		{"spaces and symbols", "{account}/{role}", assignment{AccountID: "111122223333", AccountName: "Prod Account (EU)!", Role: "Admin"}, "Prod-Account-EU/Admin"},
		{"no account name", "{account}/{role}", assignment{AccountID: "111122223333", AccountName: "", Role: "Ops"}, "111122223333/Ops"},
		{"account id", "{account_id}-{role}", assignment{AccountID: "111122223333", AccountName: "dev", Role: "Ops"}, "111122223333-Ops"},
		{"leading symbols", "{account}", assignment{AccountID: "111122223333", AccountName: "..hidden", Role: "R"}, "hidden"},
		{"dot parts", "{account}/../{role}", assignment{AccountID: "1", AccountName: "a", Role: "b"}, "a/b"},
		{"too long", "{account}", assignment{AccountID: "1", AccountName: strings.Repeat("x", 80), Role: "R"}, strings.Repeat("x", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := profileName(tc.template, tc.as); got != tc.want {
				t.Errorf("profileName(%q) = %q, want %q", tc.template, got, tc.want)
			}
		})
	}
}

func TestParseAWSConfig(t *testing.T) {
	got := parseAWSConfig(awsfile.Parse([]byte(`# comment
[default]
region = eu-west-1

[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
region = eu-central-1
services = local

[profile legacy]
sso_start_url = https://old.awsapps.com/start
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = Admin
region = us-west-2

[profile half-legacy]
sso_start_url = https://old.awsapps.com/start
sso_region = us-east-1

[profile sign-in]
sso_session = corp

[profile orphan]
sso_session = nowhere

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access, extra:scope

[services local]
s3 =
  endpoint_url = http://localhost:9000
`), awsfile.Config))
	if s := got.sessions["corp"]; len(got.sessions) != 1 || s.StartURL != "https://corp.awsapps.com/start" || s.Region != "eu-west-1" || strings.Join(s.Scopes, ",") != "sso:account:access,extra:scope" {
		t.Errorf("sessions = %+v", got.sessions)
	}
	if p := got.profiles["dev"]; len(got.profiles) != 1 || p.SSOSession != "corp" || p.AccountID != "111122223333" || p.RoleName != "Developer" || p.Region != "eu-central-1" {
		t.Errorf("profiles = %+v", got.profiles)
	}
	if l := got.legacy["legacy"]; len(got.legacy) != 1 || l.session.StartURL != "https://old.awsapps.com/start" || l.session.Region != "us-east-1" ||
		l.profile.AccountID != "444455556666" || l.profile.RoleName != "Admin" || l.profile.Region != "us-west-2" || l.profile.SSOSession != "" {
		t.Errorf("legacy = %+v", got.legacy)
	}
	want := []string{
		"profile half-legacy: a legacy SSO profile (sso_start_url) without sso_account_id and sso_role_name",
		"profile sign-in: no sso_account_id and sso_role_name, so no role to serve",
		"profile orphan: names no [sso-session nowhere]",
	}
	if s := strings.Join(got.skipped, "\n"); len(got.skipped) != len(want) {
		t.Errorf("skipped = %q, want %q", got.skipped, want)
	} else {
		for _, w := range want {
			if !strings.Contains(s, w) {
				t.Errorf("skipped lacks %q: %q", w, got.skipped)
			}
		}
	}
}
