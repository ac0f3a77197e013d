package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/credd/credd/config"
)

// credd's corp, as most cases below have it.
const corpConfig = `sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
`

// TestConfigInitImportGolden runs `credd config init` on a table of AWS
// configs and pins what it previews (stdout: the resulting file; stderr:
// what it skipped and how it mapped sessions). Then --write must write
// exactly the preview, keep every existing entry as it was, give a valid
// configuration, and a second import must find nothing to add.
func TestConfigInitImportGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		credd string // credd's configuration; "" for none (zero-config mode)
		aws   string // ~/.aws/config
	}{
		{name: "no-credd-config", aws: `[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
region = eu-central-1
`},
		{name: "same-start-url-merges", credd: corpConfig, aws: `[sso-session corp]
sso_start_url = https://CORP.awsapps.com/start/
sso_region = eu-west-1

[profile dev]
sso_session = corp
sso_account_id = 999999999999
sso_role_name = Other

[profile ops]
sso_session = corp
sso_account_id = 444455556666
sso_role_name = Ops
`},
		{name: "other-start-url-renamed", credd: corpConfig, aws: `[sso-session corp]
sso_start_url = https://elsewhere.awsapps.com/start
sso_region = eu-west-1

[profile billing]
sso_session = corp
sso_account_id = 222233334444
sso_role_name = Billing
`},
		{name: "other-region-renamed", credd: corpConfig, aws: `[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile billing]
sso_session = corp
sso_account_id = 222233334444
sso_role_name = Billing
`},
		{name: "renamed-past-taken-names", credd: `sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
  corp-2: {start_url: "https://two.awsapps.com/start", region: eu-west-1}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
`, aws: `[sso-session corp]
sso_start_url = https://three.awsapps.com/start
sso_region = eu-west-1

[sso-session corp-3]
sso_start_url = https://four.awsapps.com/start
sso_region = eu-west-1

[profile billing]
sso_session = corp
sso_account_id = 222233334444
sso_role_name = Billing
`},
		{name: "other-start-url-reuses-credd-session", credd: `sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
  work: {start_url: "https://elsewhere.awsapps.com/start", region: eu-west-1}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
`, aws: `[sso-session corp]
sso_start_url = https://elsewhere.awsapps.com/start
sso_region = eu-west-1

[profile billing]
sso_session = corp
sso_account_id = 222233334444
sso_role_name = Billing
`},
		{name: "legacy-grouped-by-start-url-and-region", aws: `[profile a]
sso_start_url = https://acme.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Admin
region = us-west-2

[profile b]
sso_start_url = https://acme.awsapps.com/start
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = ReadOnly

[profile c]
sso_start_url = https://acme.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 444455556666
sso_role_name = ReadOnly

[profile d]
sso_start_url = https://d-1234567890.awsapps.com/start#/
sso_region = us-east-1
sso_account_id = 777788889999
sso_role_name = Ops

[profile e]
sso_start_url = https://127.0.0.1:8443/start
sso_region = us-east-1
sso_account_id = 777788889999
sso_role_name = Ops
`},
		{name: "legacy-reuses-sessions", credd: corpConfig, aws: `[sso-session acme]
sso_start_url = https://acme.awsapps.com/start
sso_region = us-east-1

[profile from-credd]
sso_start_url = https://corp.awsapps.com/start/
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = Admin

[profile from-aws]
sso_start_url = https://acme.awsapps.com/start
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = Admin
`},
		{name: "legacy-derived-name-taken", credd: corpConfig, aws: `[profile new]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Admin
`},
		{name: "login-sessions", credd: corpConfig + `  console: {aws_profile: console}
`, aws: `[profile console]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/alice
region = eu-west-1

[profile alice]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/alice
region = eu-west-1

[profile bob]
login_session = arn:aws:iam::444455556666:user/bob

[profile ops]
login_session = arn:aws:sts::111122223333:assumed-role/Admin/alice
role_arn = arn:aws:iam::111122223333:role/ops

[profile keys]
aws_access_key_id = AKIAEXAMPLE
login_session = arn:aws:iam::444455556666:user/bob

[profile typo]
login_session = bob

[profile dev-too]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
`},
		{name: "skipped-profiles", credd: corpConfig, aws: `[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile dev]
sso_start_url = https://new.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = Developer

[profile sign-in-only]
sso_session = corp

[profile no-role]
sso_start_url = https://new.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111122223333

[profile orphan]
sso_session = nowhere
sso_account_id = 111122223333
sso_role_name = Developer

[profile keys]
aws_access_key_id = AKIAEXAMPLE
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.credd)
			awsConfig := filepath.Join(f.dir, "aws-config")
			f.env["AWS_CONFIG_FILE"] = awsConfig
			if err := os.WriteFile(awsConfig, []byte(tc.aws), 0o600); err != nil {
				t.Fatal(err)
			}
			_, path, _ := f.run(t, "config", "path")
			path = strings.TrimSpace(path)
			if tc.credd != "" {
				path = f.cfgPath
			}
			before, _ := os.ReadFile(path)
			init := func(flags ...string) (int, string, string) {
				t.Helper()
				args := []string{"config", "init"}
				if tc.credd != "" {
					args = append([]string{"--config", f.cfgPath}, args...)
				}
				return f.run(t, append(args, flags...)...)
			}

			code, out, errOut := init()
			got := strings.NewReplacer(path, "<CONFIG>", awsConfig, "<AWS_CONFIG>", f.stateDir, "<STATE>").
				Replace("exit " + strconv.Itoa(code) + "\n-- stdout --\n" + out + "-- stderr --\n" + errOut)
			golden := filepath.Join("testdata", "configinit-"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Fatalf("the preview changed %s:\n%s", path, after)
			}
			if out == "" {
				return // nothing to import: nothing to write
			}

			if code, _, errOut := init("--write"); code != 0 || !strings.Contains(errOut, "added ") {
				t.Fatalf("--write: exit %d: %s", code, errOut)
			}
			written, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(written) != out {
				t.Errorf("--write wrote something else than the preview:\n%s", written)
			}
			assertKept(t, string(before), string(written))
			if code, out, errOut := f.run(t, "--config", path, "config", "check"); code != 0 {
				t.Errorf("config check: exit %d\n%s%s", code, out, errOut)
			}
			if code, _, errOut := init(); code != 0 || !strings.Contains(errOut, "nothing to import") {
				t.Errorf("a second import: exit %d: %s", code, errOut)
			}
		})
	}
}

// assertKept fails unless every sso session and profile of before is in
// after, unchanged.
func assertKept(t *testing.T, before, after string) {
	t.Helper()
	if before == "" {
		return
	}
	b, err := config.Parse(strings.NewReader(before))
	if err != nil {
		t.Fatal(err)
	}
	a, err := config.Parse(strings.NewReader(after))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range b.SSOSessions {
		if !reflect.DeepEqual(a.SSOSessions[name], s) {
			t.Errorf("sso session %s changed: %+v, was %+v", name, a.SSOSessions[name], s)
		}
	}
	for name, p := range b.Profiles {
		if !reflect.DeepEqual(a.Profiles[name], p) {
			t.Errorf("profile %s changed: %+v, was %+v", name, a.Profiles[name], p)
		}
	}
}
