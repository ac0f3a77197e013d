package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestProfileNamesWithSlashes: names such as team/dev (allowed by the
// config, and what zero-config serves from ~/.aws/config) work for the
// CLI commands that go through the control socket, as they do on the
// container endpoint.
func TestProfileNamesWithSlashes(t *testing.T) {
	dev, devSec := newProcessProfile(t, "dev")
	ops, opsSec := newProcessProfile(t, "ops")
	devSec = strings.Replace(devSec, "[profile dev]", "[profile team/dev]", 1)
	opsSec = strings.Replace(opsSec, "[profile ops]", "[profile a+b@c.d_e-f]", 1)
	s := newServed(t, `default_profile: team/dev
profiles:
  team/dev: {aws_profile: team/dev}
  org/a+b@c.d_e-f: {aws_profile: a+b@c.d_e-f}
`, devSec+opsSec)
	s.start(t)
	for _, tc := range []struct {
		name, profile string
		p             processProfile
	}{
		{"slash", "team/dev", dev},
		{"slash, plus, at, dot, underscore, dash", "org/a+b@c.d_e-f", ops},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := s.run(t, "credential-process", "--profile", tc.profile)
			var doc struct{ AccessKeyId, SecretAccessKey string }
			if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.AccessKeyId != tc.p.AccessKeyID || doc.SecretAccessKey != tc.p.Secret {
				t.Errorf("credential-process: exit %d %s %s", code, out, errOut)
			}
			code, out, errOut = s.run(t, "export", "--profile", tc.profile, "--format", "env")
			if code != 0 || !strings.Contains(out, "AWS_ACCESS_KEY_ID="+tc.p.AccessKeyID) {
				t.Errorf("export: exit %d %s %s", code, out, errOut)
			}
			if r := s.rawGet(t, "/v1/credentials/"+tc.profile, s.token(t)); r.code != 200 || !strings.Contains(r.body, tc.p.AccessKeyID) {
				t.Errorf("container endpoint: %d %s", r.code, r.body)
			}
		})
	}
	// The default profile, named by nobody.
	if code, out, errOut := s.run(t, "export", "--format", "env"); code != 0 || !strings.Contains(out, dev.AccessKeyID) {
		t.Errorf("export of the default profile team/dev: exit %d %s %s", code, out, errOut)
	}
}
