package oidctest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/credd/credd/internal/oidctest"
)

// post sends a form and decodes the JSON answer.
func post(t *testing.T, p *oidctest.Provider, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := p.Client().PostForm(p.Issuer()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// TestWire walks the device grant and the refresh grant on the wire; the
// login package's tests prove go-oidc and oauth2 accept the answers.
func TestWire(t *testing.T) {
	for name, p := range map[string]*oidctest.Provider{
		"network":    oidctest.Start(t, oidctest.Options{SlowDown: true}),
		"in process": oidctest.InProcess(t, oidctest.Options{SlowDown: true}),
	} {
		t.Run(name, func(t *testing.T) {
			client := url.Values{"client_id": {p.ClientID()}}
			if code, body := post(t, p, "/device_authorization", url.Values{"client_id": {"stranger"}}); code != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Errorf("unknown client: %d %v", code, body)
			}
			code, da := post(t, p, "/device_authorization", client)
			if code != http.StatusOK || da["interval"] != 1.0 || da["expires_in"] != 600.0 ||
				da["verification_uri"] != p.Issuer()+"/device" || !strings.Contains(da["verification_uri_complete"].(string), url.QueryEscape(da["user_code"].(string))) {
				t.Fatalf("device authorization: %d %v", code, da)
			}
			poll := url.Values{"client_id": {p.ClientID()}, "grant_type": {oidctest.GrantDeviceCode}, "device_code": {da["device_code"].(string)}}
			step := func(want string) map[string]any {
				t.Helper()
				code, body := post(t, p, "/token", poll)
				if got, _ := body["error"].(string); got != want || (want == "") != (code == http.StatusOK) {
					t.Fatalf("poll: %d %v, want error %q", code, body, want)
				}
				return body
			}
			step("authorization_pending")
			if err := p.Approve("nope"); err == nil {
				t.Error("Approve of an unknown user code succeeded")
			}
			if err := p.Approve(da["user_code"].(string)); err != nil {
				t.Fatal(err)
			}
			step("slow_down")
			tok := step("")
			if tok["id_token"] == "" || tok["refresh_token"] == "" || tok["token_type"] != "Bearer" || tok["expires_in"] != 3600.0 {
				t.Errorf("tokens: %v", tok)
			}
			step("invalid_grant") // a device code works once
			if got := len(p.Polls()); got != 4 {
				t.Errorf("%d polls recorded, want 4", got)
			}

			refresh := url.Values{"client_id": {p.ClientID()}, "grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}
			code, renewed := post(t, p, "/token", refresh)
			if code != http.StatusOK || renewed["refresh_token"] == tok["refresh_token"] {
				t.Fatalf("refresh: %d %v, want tokens with a new refresh token", code, renewed)
			}
			if code, body := post(t, p, "/token", refresh); code != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Errorf("reusing a rotated refresh token: %d %v", code, body)
			}
			p.Revoke()
			refresh.Set("refresh_token", renewed["refresh_token"].(string))
			if code, body := post(t, p, "/token", refresh); code != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Errorf("a revoked refresh token: %d %v", code, body)
			}
			if got := p.Grants("refresh_token"); got != 1 {
				t.Errorf("Grants(refresh_token) = %d, want 1", got)
			}
		})
	}
}

func TestDeny(t *testing.T) {
	p := oidctest.InProcess(t, oidctest.Options{})
	_, da := post(t, p, "/device_authorization", url.Values{"client_id": {p.ClientID()}})
	if err := p.Deny(da["user_code"].(string)); err != nil {
		t.Fatal(err)
	}
	code, body := post(t, p, "/token", url.Values{"client_id": {p.ClientID()}, "grant_type": {oidctest.GrantDeviceCode}, "device_code": {da["device_code"].(string)}})
	if code != http.StatusBadRequest || body["error"] != "access_denied" {
		t.Errorf("denied: %d %v", code, body)
	}
}
