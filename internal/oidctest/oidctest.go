// Package oidctest is an OpenID provider for tests, small enough to read:
// discovery, a JWKS with an RSA key made at start, the device
// authorization grant (RFC 8628) that the test approves or denies by user
// code, and refresh tokens (rotated on every use) that the test can
// revoke. ID tokens are RS256 JWTs with iss, aud (the client ID), sub,
// email, iat, exp and jti.
//
// It serves no browser sign-in: the authorization endpoint is advertised
// (clients expect it) but answers 404. Clients are public: a request names
// its client ID in the form or as the Basic user, and no secret is checked.
//
// Start serves it on a loopback port; InProcess serves it through an
// http.Client without a network, so tests can run it inside a
// testing/synctest bubble where polling intervals pass in fake time.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Options shape a provider; the zero value works.
type Options struct {
	ClientID string        // default "credd-test"
	Subject  string        // default "user-1"
	Email    string        // default "user@example.com"
	TTL      time.Duration // of ID and access tokens; default 1h
	// SlowDown answers one poll with slow_down after the approval.
	SlowDown bool
	// RefreshTTL, if set, is announced as refresh_expires_in (as Keycloak
	// does): when the session ends.
	RefreshTTL time.Duration
}

// Provider is the OpenID provider. It is an http.Handler.
type Provider struct {
	o      Options
	issuer string
	client *http.Client
	signer jose.Signer
	jwks   []byte
	mux    *http.ServeMux

	mu      sync.Mutex
	devices map[string]*device // by device code
	refresh map[string]bool    // refresh tokens that still work
	polls   []time.Time        // device-code token requests
	grants  map[string]int     // token responses by grant type
}

type device struct {
	userCode string
	expires  time.Time
	approved bool
	denied   bool
	slowed   bool // slow_down already sent
	issued   bool // tokens already sent: the code is used up
}

// The device code grant type and lifetime.
const (
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	DeviceCodeTTL   = 10 * time.Minute
)

// Start serves a new provider on a loopback port until the test ends.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p := newProvider(t, "http://"+srv.Listener.Addr().String(), o)
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	p.client = srv.Client()
	p.client.Timeout = 10 * time.Second
	return p
}

// InProcess returns a provider reachable only through Client, which calls
// its handler directly: no sockets, no goroutines, nothing a synctest
// bubble cannot see. Its issuer is http://oidctest.invalid.
func InProcess(t testing.TB, o Options) *Provider {
	t.Helper()
	p := newProvider(t, "http://oidctest.invalid", o)
	p.client = &http.Client{Transport: handlerTransport{p}}
	return p
}

func newProvider(t testing.TB, issuer string, o Options) *Provider {
	t.Helper()
	if o.ClientID == "" {
		o.ClientID = "credd-test"
	}
	if o.Subject == "" {
		o.Subject = "user-1"
	}
	if o.Email == "" {
		o.Email = "user@example.com"
	}
	if o.TTL <= 0 {
		o.TTL = time.Hour
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generating a key: %v", err)
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: rand.Text()[:16], Algorithm: string(jose.RS256), Use: "sig"}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("oidctest: making a signer: %v", err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	if err != nil {
		t.Fatalf("oidctest: encoding the JWKS: %v", err)
	}
	p := &Provider{o: o, issuer: issuer, signer: signer, jwks: jwks,
		devices: map[string]*device{}, refresh: map[string]bool{}, grants: map[string]int{}}
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	p.mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, json.RawMessage(p.jwks)) })
	p.mux.HandleFunc("POST /device_authorization", p.deviceAuthorization)
	p.mux.HandleFunc("POST /token", p.token)
	return p
}

// Issuer is the provider's issuer URL; discovery is below it.
func (p *Provider) Issuer() string { return p.issuer }

// ClientID is the only client the provider knows.
func (p *Provider) ClientID() string { return p.o.ClientID }

// Client reaches the provider (for Start, an ordinary client with a
// timeout; for InProcess, the only way in).
func (p *Provider) Client() *http.Client { return p.client }

// Approve lets the device sign-in with this user code finish.
func (p *Provider) Approve(userCode string) error { return p.decide(userCode, true) }

// Deny makes the device sign-in with this user code fail with
// access_denied.
func (p *Provider) Deny(userCode string) error { return p.decide(userCode, false) }

func (p *Provider) decide(userCode string, approve bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.devices {
		if d.userCode == userCode {
			d.approved, d.denied = approve, !approve
			return nil
		}
	}
	return fmt.Errorf("oidctest: no device sign-in has user code %q", userCode)
}

// Revoke invalidates every refresh token issued so far: refreshing with
// one answers invalid_grant.
func (p *Provider) Revoke() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.refresh)
}

// Polls returns when each device-code token request arrived.
func (p *Provider) Polls() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.polls...)
}

// Grants counts the tokens issued by grant type ("refresh_token",
// GrantDeviceCode).
func (p *Provider) Grants(grantType string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants[grantType]
}

// IDToken signs an ID token with the provider's key: the claims a real
// one would have, changed by edit (nil: none) — for tests of what a
// verifier must reject, e.g. another provider's key, a wrong audience, an
// expired token.
func (p *Provider) IDToken(edit func(claims map[string]any)) string {
	now := time.Now()
	claims := map[string]any{
		"iss":   p.issuer,
		"aud":   p.o.ClientID,
		"sub":   p.o.Subject,
		"email": p.o.Email,
		"iat":   now.Unix(),
		"exp":   now.Add(p.o.TTL).Unix(),
		"jti":   rand.Text(),
	}
	if edit != nil {
		edit(claims)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("oidctest: encoding claims: %v", err))
	}
	jws, err := p.signer.Sign(payload)
	if err != nil {
		panic(fmt.Sprintf("oidctest: signing: %v", err))
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		panic(fmt.Sprintf("oidctest: serializing: %v", err))
	}
	return raw
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/authorize",
		"token_endpoint":                        p.issuer + "/token",
		"jwks_uri":                              p.issuer + "/jwks",
		"device_authorization_endpoint":         p.issuer + "/device_authorization",
		"grant_types_supported":                 []string{GrantDeviceCode, "refresh_token"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.RS256)},
		"token_endpoint_auth_methods_supported": []string{"none"},
	})
}

// knownClient checks the client ID, from the form or the Basic user.
func (p *Provider) knownClient(w http.ResponseWriter, r *http.Request) bool {
	id := r.PostFormValue("client_id")
	if user, _, ok := r.BasicAuth(); ok && id == "" {
		id, _ = url.QueryUnescape(user) // RFC 6749 §2.3.1 form-encodes it
	}
	if id != p.o.ClientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", fmt.Sprintf("unknown client %q", id))
		return false
	}
	return true
}

func (p *Provider) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if !p.knownClient(w, r) {
		return
	}
	deviceCode, userCode := rand.Text(), rand.Text()[:4]+"-"+rand.Text()[:4]
	p.mu.Lock()
	p.devices[deviceCode] = &device{userCode: userCode, expires: time.Now().Add(DeviceCodeTTL)}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 userCode,
		"verification_uri":          p.issuer + "/device",
		"verification_uri_complete": p.issuer + "/device?user_code=" + url.QueryEscape(userCode),
		"expires_in":                int(DeviceCodeTTL.Seconds()),
		"interval":                  1,
	})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if !p.knownClient(w, r) {
		return
	}
	grant := r.PostFormValue("grant_type")
	var err error
	switch grant {
	case GrantDeviceCode:
		err = p.deviceGrant(r.PostFormValue("device_code"))
	case "refresh_token":
		err = p.refreshGrant(r.PostFormValue("refresh_token"))
	default:
		err = &codeError{"unsupported_grant_type", grant}
	}
	if ce := (*codeError)(nil); errors.As(err, &ce) {
		oauthError(w, http.StatusBadRequest, ce.code, ce.desc)
		return
	}
	refresh := rand.Text()
	p.mu.Lock()
	p.refresh[refresh] = true
	p.grants[grant]++
	p.mu.Unlock()
	resp := map[string]any{
		"access_token":  rand.Text(),
		"token_type":    "Bearer",
		"expires_in":    int(p.o.TTL.Seconds()),
		"refresh_token": refresh,
		"id_token":      p.IDToken(nil),
	}
	if p.o.RefreshTTL > 0 {
		resp["refresh_expires_in"] = int(p.o.RefreshTTL.Seconds())
	}
	writeJSON(w, http.StatusOK, resp)
}

// deviceGrant answers a poll (RFC 8628 §3.5): nil means issue tokens.
func (p *Provider) deviceGrant(code string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.polls = append(p.polls, time.Now())
	d := p.devices[code]
	switch {
	case d == nil || d.issued:
		return &codeError{"invalid_grant", "unknown or used device code"}
	case time.Now().After(d.expires):
		return &codeError{"expired_token", "the device code expired"}
	case d.denied:
		return &codeError{"access_denied", "the user denied the sign-in"}
	case !d.approved:
		return &codeError{"authorization_pending", "waiting for the user"}
	case p.o.SlowDown && !d.slowed:
		d.slowed = true
		return &codeError{"slow_down", "polling too often"}
	}
	d.issued = true
	return nil
}

// refreshGrant spends a refresh token: nil means issue tokens (and a new
// refresh token).
func (p *Provider) refreshGrant(token string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.refresh[token] {
		return &codeError{"invalid_grant", "the refresh token is invalid, used or revoked"}
	}
	delete(p.refresh, token)
	return nil
}

type codeError struct{ code, desc string }

func (e *codeError) Error() string { return e.code + ": " + e.desc }

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handlerTransport serves requests by calling a handler in the caller's
// goroutine.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r.Clone(r.Context()))
	if r.Body != nil {
		_ = r.Body.Close()
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
