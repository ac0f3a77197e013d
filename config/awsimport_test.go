package config

import (
	"strings"
	"testing"

	"github.com/credd/credd/awsfile"
)

func TestRoleProfileName(t *testing.T) {
	for _, tc := range []struct {
		name, template string
		r              Role
		want           string
	}{
		{"default", "{account}/{role}", Role{AccountID: "111122223333", AccountName: "dev", Name: "Developer"}, "dev/Developer"},
		{"spaces and symbols", "{account}/{role}", Role{AccountID: "111122223333", AccountName: "Prod Account (EU)!", Name: "Admin"}, "Prod-Account-EU/Admin"},
		{"no account name", "{account}/{role}", Role{AccountID: "111122223333", AccountName: "", Name: "Ops"}, "111122223333/Ops"},
		{"account id", "{account_id}-{role}", Role{AccountID: "111122223333", AccountName: "dev", Name: "Ops"}, "111122223333-Ops"},
		{"leading symbols", "{account}", Role{AccountID: "111122223333", AccountName: "..hidden", Name: "R"}, "hidden"},
		{"dot parts", "{account}/../{role}", Role{AccountID: "1", AccountName: "a", Name: "b"}, "a/b"},
		{"too long", "{account}", Role{AccountID: "1", AccountName: strings.Repeat("x", 80), Name: "R"}, strings.Repeat("x", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RoleProfileName(tc.template, tc.r); got != tc.want {
				t.Errorf("RoleProfileName(%q) = %q, want %q", tc.template, got, tc.want)
			}
		})
	}
}

func TestReadAWSSSO(t *testing.T) {
	got := readAWSSSO(awsfile.Parse([]byte(`# comment
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

func TestSessionNameFor(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"awsapps", "https://corp.awsapps.com/start", "corp"},
		{"directory id", "https://d-1234567890.awsapps.com/start#/", "d-1234567890"},
		{"upper case", "https://Corp.awsapps.com/start", "Corp"},
		{"IP address", "https://127.0.0.1:8443/start", "sso"},
		{"not a URL", "::", "sso"},
		{"leading dash", "https://-x.example.com/start", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sessionNameFor(tc.url); got != tc.want {
				t.Errorf("sessionNameFor(%q) = %q, want %q", tc.url, got, tc.want)
			}
		})
	}
}

func TestKeyOf(t *testing.T) {
	corp := SSOSession{StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1"}
	for _, tc := range []struct {
		name string
		s    SSOSession
		same bool
	}{
		{"identical", corp, true},
		{"trailing slash", SSOSession{StartURL: corp.StartURL + "/", Region: corp.Region}, true},
		{"host case", SSOSession{StartURL: "HTTPS://CORP.awsapps.com/start", Region: corp.Region}, true},
		{"console fragment", SSOSession{StartURL: corp.StartURL + "/#/", Region: corp.Region}, true},
		{"other region", SSOSession{StartURL: corp.StartURL, Region: "us-east-1"}, false},
		{"other host", SSOSession{StartURL: "https://corp2.awsapps.com/start", Region: corp.Region}, false},
		{"path case", SSOSession{StartURL: "https://corp.awsapps.com/Start", Region: corp.Region}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keyOf(tc.s) == keyOf(corp); got != tc.same {
				t.Errorf("keyOf(%+v) == keyOf(%+v): %v, want %v", tc.s, corp, got, tc.same)
			}
		})
	}
}

func TestPlanRolesAndApply(t *testing.T) {
	existing := parse(t, `sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
`)
	roles := []Role{
		{AccountID: "111122223333", AccountName: "dev", Name: "Admin"},
		{AccountID: "444455556666", AccountName: "ops", Name: "Ops"},
		{AccountID: "777788889999", AccountName: "ops", Name: "Ops"},
	}
	p := PlanRoles(existing, "corp", "{account}", roles)
	if got := strings.Join(p.Added(), ", "); got != "profile ops" {
		t.Errorf("added %q, want profile ops", got)
	}
	if want := []string{"dev: a profile by that name exists", "ops: the template gives another assignment this name (use {role} in --template)"}; strings.Join(p.Skipped, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped %q, want %q", p.Skipped, want)
	}

	file := "# mine\nsso_sessions:\n  corp: {start_url: \"https://corp.awsapps.com/start\", region: eu-west-1}\nprofiles: # the roles\n  dev: {sso_session: corp, account_id: \"111122223333\", role_name: Developer}\n"
	out, err := p.Apply([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := file + "  ops: {sso_session: corp, account_id: \"444455556666\", role_name: Ops}\n"
	if string(out) != want {
		t.Errorf("Apply:\n%s\nwant:\n%s", out, want)
	}

	for _, tc := range []struct{ name, file, err string }{
		{"not a mapping", "- a\n- b\n", "not a YAML mapping"},
		{"profiles not a mapping", "profiles: [a]\n", "profiles is not a mapping"},
		{"not YAML", "a: [\n", "yaml"},
		{"no such session", "sso_sessions: {}\n", "would not be valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := p.Apply([]byte(tc.file)); err == nil || !strings.Contains(err.Error(), tc.err) || out != nil {
				t.Errorf("Apply = %q, %v; want an error with %q", out, err, tc.err)
			}
		})
	}
	if out, err := p.Apply(nil); err == nil || out != nil {
		t.Errorf("a new file without the session: %q, %v", out, err)
	}
}

// TestAWSLoginSession: which profiles of the shared AWS config are AWS
// Sign-In sessions as the AWS SDKs read them, and why the others that
// name login_session are not.
func TestAWSLoginSession(t *testing.T) {
	const arn = "arn:aws:sts::111122223333:assumed-role/Admin/alice"
	for _, tc := range []struct {
		name    string
		keys    map[string]string
		wantARN string
		wantWhy string
	}{
		{name: "none", keys: map[string]string{"region": "eu-west-1"}},
		{name: "a session", keys: map[string]string{"login_session": arn, "region": "eu-west-1"}, wantARN: arn},
		{name: "spaces around", keys: map[string]string{"login_session": "  " + arn + " "}, wantARN: arn},
		{name: "an IAM user", keys: map[string]string{"login_session": "arn:aws:iam::111122223333:user/alice"}, wantARN: "arn:aws:iam::111122223333:user/alice"},
		{name: "credential_process comes after it", keys: map[string]string{"login_session": arn, "credential_process": "x"}, wantARN: arn},
		{name: "not an ARN", keys: map[string]string{"login_session": "alice"}, wantWhy: `login_session "alice" is not the ARN of a signed-in user`},
		{name: "keys first", keys: map[string]string{"login_session": arn, "aws_access_key_id": "AKIAEXAMPLE"}, wantWhy: "the AWS SDKs use its aws_access_key_id, not its login_session"},
		{name: "source profile first", keys: map[string]string{"login_session": arn, "source_profile": "base", "role_arn": "arn:aws:iam::111122223333:role/x"}, wantWhy: "the AWS SDKs use its source_profile"},
		{name: "credential source first", keys: map[string]string{"login_session": arn, "credential_source": "Ec2InstanceMetadata"}, wantWhy: "its credential_source"},
		{name: "web identity first", keys: map[string]string{"login_session": arn, "web_identity_token_file": "/t"}, wantWhy: "its web_identity_token_file"},
		{name: "Identity Center first", keys: map[string]string{"login_session": arn, "sso_session": "corp"}, wantWhy: "its sso_session"},
		{name: "legacy Identity Center first", keys: map[string]string{"login_session": arn, "sso_start_url": "https://corp.awsapps.com/start"}, wantWhy: "its sso_start_url"},
		{name: "a role on it", keys: map[string]string{"login_session": arn, "role_arn": "arn:aws:iam::111122223333:role/x"}, wantWhy: "it assumes role_arn with its login_session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := AWSLoginSession(func(k string) string { return tc.keys[k] })
			if got != tc.wantARN || (tc.wantWhy == "") != (why == "") || !strings.Contains(why, tc.wantWhy) {
				t.Errorf("AWSLoginSession = %q, %q; want %q, %q", got, why, tc.wantARN, tc.wantWhy)
			}
		})
	}
}

// TestPlanImportLoginSessions: `aws login` profiles become login_session
// profiles with their region, beside Identity Center ones; names credd
// uses are skipped, and so are profiles the SDKs do not sign in with
// their login_session, each with why.
func TestPlanImportLoginSessions(t *testing.T) {
	aws := awsfile.Parse([]byte(`[profile console]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/alice
region = eu-west-1

[profile bob]
login_session = arn:aws:iam::444455556666:user/bob

[profile taken]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/alice

[profile chained]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/alice
role_arn = arn:aws:iam::111122223333:role/ops

[profile garbled]
login_session = alice

[profile both]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
login_session = arn:aws:sts::111122223333:assumed-role/Admin/alice

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
`), awsfile.Config)
	existing := parse(t, "profiles:\n  taken: {aws_profile: taken}\n")
	p := PlanImport(aws, existing)
	if got, want := strings.Join(p.Added(), ", "), "sso session corp, profile bob, profile both, profile console"; got != want {
		t.Errorf("added %q, want %q", got, want)
	}
	for name, want := range map[string]Profile{
		"console": {LoginSession: "arn:aws:sts::111122223333:assumed-role/Admin/alice", Region: "eu-west-1"},
		"bob":     {LoginSession: "arn:aws:iam::444455556666:user/bob"},
		"both":    {SSOSession: "corp", AccountID: "111122223333", RoleName: "Developer"}, // the SDKs use Identity Center
	} {
		if got := p.Profiles[name]; got.LoginSession != want.LoginSession || got.Region != want.Region || got.SSOSession != want.SSOSession || got.RoleName != want.RoleName {
			t.Errorf("profile %s = %+v, want %+v", name, got, want)
		}
	}
	wantSkipped := []string{
		"profile chained: names login_session, but it assumes role_arn with its login_session",
		`profile garbled: names login_session, but login_session "alice" is not the ARN of a signed-in user`,
		"profile taken: already configured",
	}
	if got := strings.Join(p.Skipped, "\n"); len(p.Skipped) != len(wantSkipped) {
		t.Errorf("skipped:\n%s\nwant:\n%s", got, strings.Join(wantSkipped, "\n"))
	} else {
		for _, w := range wantSkipped {
			if !strings.Contains(got, w) {
				t.Errorf("skipped lacks %q:\n%s", w, got)
			}
		}
	}
	out, err := p.Apply([]byte("profiles:\n  taken: {aws_profile: taken}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `  console: {login_session: 'arn:aws:sts::111122223333:assumed-role/Admin/alice', region: eu-west-1}`; !strings.Contains(string(out), want) {
		t.Errorf("Apply lacks %q:\n%s", want, out)
	}
}
