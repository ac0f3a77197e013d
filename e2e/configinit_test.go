package e2e

import (
	"strings"
	"testing"

	"github.com/credd/credd/internal/ssotest"
)

// TestConfigInitLegacyAndConflictingSessions: `credd config init` imports
// a legacy SSO profile under credd's session for its start URL, and an
// [sso-session corp] for another start URL under a new name, so that the
// daemon serves the first with credd's corp sign-in and never the second.
func TestConfigInitLegacyAndConflictingSessions(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts})
	s := newSSOServed(t, fake, "")
	writeFile(t, s.env["AWS_CONFIG_FILE"], `[profile legacy-ops]
sso_start_url = https://corp.awsapps.com/start/
sso_region = eu-west-1
sso_account_id = 444455556666
sso_role_name = Ops

[sso-session corp]
sso_start_url = https://other.awsapps.com/start
sso_region = eu-west-1

[profile other-dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Developer
`)
	before := s.config(t)
	code, out, errOut := s.run(t, "config", "init")
	for _, w := range []string{
		`legacy-ops: {sso_session: corp, account_id: "444455556666", role_name: Ops}`,
		`other-dev: {sso_session: corp-2, account_id: "111122223333", role_name: Developer}`,
		"start_url: https://other.awsapps.com/start",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the preview lacks %s:\n%s", w, out)
		}
	}
	for _, w := range []string{
		"[sso-session corp] is added as sso session corp-2 (https://other.awsapps.com/start in eu-west-1): credd's corp signs in to https://corp.awsapps.com/start in eu-west-1",
		"profile legacy-ops, a legacy SSO profile (https://corp.awsapps.com/start in eu-west-1), uses sso session corp",
		"run again with --write",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("the preview does not say %q:\n%s", w, errOut)
		}
	}
	if code != 0 || s.config(t) != before {
		t.Fatalf("preview: exit %d, the file changed: %v\n%s", code, s.config(t) != before, errOut)
	}
	if code, _, errOut := s.run(t, "config", "init", "--write"); code != 0 || !strings.Contains(errOut, "added sso session corp-2, profile legacy-ops, profile other-dev") {
		t.Fatalf("--write: exit %d %s", code, errOut)
	}

	s.start(t)
	if code, out, errOut := s.signIn(t, "--sso-session", "corp"); code != 0 {
		t.Fatalf("login: exit %d %s %s", code, out, errOut)
	}
	token := s.token(t)
	key, _, _ := ssotest.RoleCredentials("444455556666", "Ops")
	if r := s.rawGet(t, "/v1/credentials/legacy-ops", token); r.code != 200 || !strings.Contains(r.body, key) {
		t.Errorf("the legacy profile after signing in to corp: %d %s", r.code, r.body)
	}
	// other-dev's Identity Center is not corp's: corp's sign-in must not serve it.
	if r := s.rawGet(t, "/v1/credentials/other-dev", token); r.code != 503 || !strings.Contains(r.body, "credd login --sso-session corp-2") {
		t.Errorf("the profile of the other start URL: %d %s", r.code, r.body)
	}
	noSSOSecrets(t, "the output", out+errOut)
}
