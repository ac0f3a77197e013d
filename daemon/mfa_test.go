package daemon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/credd/credd/internal/ststest"
)

// TestMFAProfilesMakeNoCallWithoutACode: a profile with mfa_serial, and a
// role resting on it, are never served from a session without MFA.
func TestMFAProfilesMakeNoCallWithoutACode(t *testing.T) {
	sts := ststest.New(t)
	r := start(t, fmt.Sprintf(`
sts: {endpoint: %q}
default_profile: keys
profiles:
  keys: {aws_profile: keys, mfa_serial: "arn:aws:iam::111122223333:mfa/tester"}
  admin: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/admin"}
`, sts.URL), "[profile keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = keys-secret\n")
	for _, p := range []string{"keys", "admin"} {
		code, body := r.get(t, "/v1/credentials/"+p, auth)
		if code != 503 || !strings.Contains(body, "profile keys, whose keys need MFA (mfa_serial)") {
			t.Errorf("%s: %d %s, want 503 naming mfa_serial", p, code, body)
		}
	}
	// Nor a console sign-in through GetFederationToken, which cannot
	// carry MFA.
	if _, err := r.d.Console(t.Context(), ConsoleRequest{Profile: "keys"}); err == nil || !strings.Contains(err.Error(), "need MFA") {
		t.Errorf("console for keys: %v, want the MFA refusal", err)
	}
	if calls := sts.Calls(); len(calls) != 0 {
		t.Errorf("STS calls %+v, want none", calls)
	}
}

// TestMFAInTheSharedFilesMakesNoCallWithoutACode: mfa_serial in
// ~/.aws/config, on the keys or on a role, is never answered with a
// session without MFA (GetSessionToken without a code was the old way).
func TestMFAInTheSharedFilesMakesNoCallWithoutACode(t *testing.T) {
	sts := ststest.New(t)
	r := start(t, fmt.Sprintf(`
sts: {endpoint: %q}
default_profile: keys
profiles:
  keys: {aws_profile: keys}
  admin: {aws_profile: admin}
  ops: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/ops"}
`, sts.URL), `[profile keys]
aws_access_key_id = AKIAKEYS
aws_secret_access_key = keys-secret
mfa_serial = arn:aws:iam::111122223333:mfa/tester
[profile admin]
role_arn = arn:aws:iam::111122223333:role/admin
source_profile = keys
`)
	for p, want := range map[string]string{"keys": "AWS profile keys, whose keys need MFA", "admin": "AWS profile admin, whose keys need MFA", "ops": "AWS profile keys, whose keys need MFA"} {
		code, body := r.get(t, "/v1/credentials/"+p, auth)
		if code != 503 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want 503 with %q", p, code, body, want)
		}
	}
	// Nor a console sign-in through GetFederationToken, which cannot
	// carry MFA.
	if _, err := r.d.Console(t.Context(), ConsoleRequest{Profile: "keys"}); err == nil || !strings.Contains(err.Error(), "need MFA") {
		t.Errorf("console for keys: %v, want the MFA refusal", err)
	}
	if calls := sts.Calls(); len(calls) != 0 {
		t.Errorf("STS calls %+v, want none", calls)
	}
}
