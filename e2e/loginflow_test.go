package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/credd/credd/cmd/credd/cli"
	"github.com/credd/credd/internal/ssotest"
)

// TestLoginFlowDeviceFromConfig: with flow: device on the session, a plain
// `credd login` signs in with the device code and never opens a browser,
// though one is at hand.
func TestLoginFlowDeviceFromConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"by session", []string{"--sso-session", "corp"}},
		{"by profile", []string{"--profile", "ops"}},
		{"the only session", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts, PendingPolls: 1})
			s := newSSOServed(t, fake, ", flow: device")
			s.start(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var out, errOut strings.Builder
			io := s.io(nil, nil)
			io.Out, io.Err = &out, &errOut
			var mu sync.Mutex
			var opened []string
			io.OpenURL = func(u string) error {
				// A browser sign-in would wait for a user who never comes:
				// record it and give up at once.
				mu.Lock()
				opened = append(opened, u)
				mu.Unlock()
				cancel()
				return nil
			}
			code := cli.Run(ctx, append([]string{"--config", s.cfgPath, "login"}, tc.args...), io)
			mu.Lock()
			defer mu.Unlock()
			if code != 0 || len(opened) != 0 {
				t.Fatalf("credd login: exit %d, opened %q\n%s%s", code, opened, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), "enter the code ABCD-") || !strings.Contains(out.String(), fake.URL+"/device?user_code=") {
				t.Errorf("no device code in the output:\n%s", out.String())
			}
			if d, b := fake.Calls("StartDeviceAuthorization"), fake.Calls("Authorize"); d != 1 || b != 0 {
				t.Errorf("device authorizations %d (want 1), browser sign-ins %d (want 0)", d, b)
			}
			if r := s.rawGet(t, "/v1/credentials/dev", s.token(t)); r.code != 200 {
				t.Errorf("dev after the sign-in: %d %s", r.code, r.body)
			}
		})
	}
}
