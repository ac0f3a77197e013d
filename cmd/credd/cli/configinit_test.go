package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func TestCachedAccessToken(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const start = "https://corp.awsapps.com/start"
	for _, tc := range []struct {
		name, content, want, wantErr string
	}{
		{"valid", `{"startUrl":"` + start + `/","accessToken":"tok","expiresAt":"2026-01-01T13:00:00Z"}`, "tok", ""},
		{"expired", `{"startUrl":"` + start + `","accessToken":"tok","expiresAt":"2026-01-01T11:00:00Z"}`, "", "expired"},
		{"other start URL", `{"startUrl":"https://other.awsapps.com/start","accessToken":"tok","expiresAt":"2026-01-01T13:00:00Z"}`, "", "not " + start},
		{"not JSON", `{`, "", "not a token cache"},
		{"missing", "", "", "no signed-in session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "c.json")
			if tc.content != "" {
				if err := os.WriteFile(f, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := cachedAccessToken(f, start, now)
			if got != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "tok") && !strings.Contains(err.Error(), "token") {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

func TestParseAWSConfig(t *testing.T) {
	got := parseAWSConfig(`# comment
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
`)
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
