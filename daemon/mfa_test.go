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
		if code != 503 || !strings.Contains(body, "mfa_serial") {
			t.Errorf("%s: %d %s, want 503 naming mfa_serial", p, code, body)
		}
	}
	if calls := sts.Calls(); len(calls) != 0 {
		t.Errorf("STS calls %+v, want none", calls)
	}
}
