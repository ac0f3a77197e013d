package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/control"
	"github.com/credd/credd/internal/oidctest"
	"github.com/credd/credd/internal/ssotest"
	"github.com/credd/credd/store"
)

// TestLoginFlowFollowsTheConfig: a session configured with flow: device
// signs in with the device flow even when the request does not ask for
// it; otherwise the browser flow, unless the request asks for a device.
func TestLoginFlowFollowsTheConfig(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{})
	sso := ssotest.New(t, ssotest.Options{})
	r := startWith(t, fmt.Sprintf(`identity_providers:
  okta-device: {issuer: %[1]q, client_id: %[2]q, flow: device}
  okta-browser: {issuer: %[1]q, client_id: %[2]q, flow: browser}
  okta-default: {issuer: %[1]q, client_id: %[2]q}
sso_sessions:
  corp-device: {start_url: "https://corp.awsapps.com/start", region: eu-west-1, endpoint: %[3]q, flow: device}
  corp-default: {start_url: "https://corp.awsapps.com/start", region: eu-west-1, endpoint: %[3]q}
profiles:
  app: {identity_provider: okta-device, role_arn: "arn:aws:iam::111122223333:role/app"}
  dev: {sso_session: corp-device, account_id: "111122223333", role_name: Developer}
`, idp.Issuer(), idp.ClientID(), sso.URL), "", func(d *Deps) { d.Sessions = store.NewMemory() })
	ctl := r.d.ControlBackend(ControlInfo{})
	for _, tc := range []struct {
		name       string
		req        control.LoginRequest
		wantDevice bool
	}{
		{"identity provider with flow: device", control.LoginRequest{Provider: "okta-device"}, true},
		{"identity provider with flow: device, through its profile", control.LoginRequest{Profile: "app"}, true},
		{"identity provider with flow: browser", control.LoginRequest{Provider: "okta-browser"}, false},
		{"identity provider with no flow", control.LoginRequest{Provider: "okta-default"}, false},
		{"identity provider with flow: browser, --device", control.LoginRequest{Provider: "okta-browser", Device: true}, true},
		{"Identity Center with flow: device", control.LoginRequest{SSOSession: "corp-device"}, true},
		{"Identity Center with flow: device, through its profile", control.LoginRequest{Profile: "dev"}, true},
		{"Identity Center with no flow", control.LoginRequest{SSOSession: "corp-default"}, false},
		{"Identity Center with no flow, --device", control.LoginRequest{SSOSession: "corp-default", Device: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			devicesBefore := sso.Calls("StartDeviceAuthorization")
			st, err := ctl.Login(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// Cancel and wait for the end, so the next case starts a
				// flow of its own instead of joining this one.
				_ = ctl.CancelLogin(context.Background(), st.ID)
				if ls, err := ctl.LoginStatus(context.Background(), st.ID, time.Minute); err != nil || ls.State == "pending" {
					t.Errorf("cancelled sign-in: %+v, %v", ls, err)
				}
			})
			if st.Device != tc.wantDevice || (st.UserCode != "") != tc.wantDevice {
				t.Errorf("sign-in %+v: device %v, user code %q; want device %v", st, st.Device, st.UserCode, tc.wantDevice)
			}
			if tc.req.SSOSession != "" || tc.req.Profile == "dev" {
				if started := sso.Calls("StartDeviceAuthorization") - devicesBefore; (started == 1) != tc.wantDevice {
					t.Errorf("Identity Center saw %d device authorizations, want device %v", started, tc.wantDevice)
				}
			}
		})
	}
}

// TestCancelLoginLeavesLiveWaiters: a client's cancel ends the flow only
// when no other client still waits on it; a client that stopped polling
// (its terminal closed) no longer counts once waiterGrace has passed.
func TestCancelLoginLeavesLiveWaiters(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{})
	clk := clock.NewFake(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	r := startWith(t, fmt.Sprintf(`identity_providers:
  okta: {issuer: %q, client_id: %q}
profiles:
  app: {identity_provider: okta, role_arn: "arn:aws:iam::111122223333:role/app"}
`, idp.Issuer(), idp.ClientID()), "", func(d *Deps) { d.Sessions = store.NewMemory(); d.Clock = clk })
	ctl := r.d.ControlBackend(ControlInfo{})
	req := control.LoginRequest{Provider: "okta"}
	state := func(ticket string) string {
		t.Helper()
		st, err := ctl.LoginStatus(t.Context(), ticket, 0)
		if err != nil {
			t.Fatalf("status of %s: %v", ticket, err)
		}
		return st.State
	}
	join := func() string {
		t.Helper()
		st, err := ctl.Login(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return st.ID
	}

	// Two terminals; the first has just polled. The second's Ctrl-C
	// leaves the flow running for it.
	a, b := join(), join()
	if a == b {
		t.Fatalf("two joins got the same ticket %s", a)
	}
	state(a)
	if err := ctl.CancelLogin(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if got := state(a); got != "pending" {
		t.Fatalf("after the other terminal's Ctrl-C: %s, want pending", got)
	}
	// Now the first one leaves too: the flow ends.
	clk.Advance(3 * time.Second)
	if err := ctl.CancelLogin(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if got, _ := ctl.LoginStatus(t.Context(), a, 5*time.Second); got.State != "failed" {
		t.Fatalf("after the last terminal left: %s, want failed (cancelled)", got.State)
	}

	// A terminal that went away without a word, then one that presses
	// Ctrl-C: the flow ends, the silent one no longer counts.
	gone, c := join(), join()
	clk.Advance(3 * time.Second)
	if err := ctl.CancelLogin(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if got, _ := ctl.LoginStatus(t.Context(), gone, 5*time.Second); got.State != "failed" {
		t.Errorf("a silent client kept the flow alive: %s, want failed", got.State)
	}
}
