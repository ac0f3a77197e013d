package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

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
				if ls, err := ctl.LoginStatus(context.Background(), st.ID, 10*time.Second); err != nil || ls.State == "pending" {
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
