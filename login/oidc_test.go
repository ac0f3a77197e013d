package login_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/oidctest"
	"github.com/credd/credd/login"
)

// newOIDCSession is a session for m on real time (inside a synctest
// bubble, the bubble's time), with a memory-only store.
func newOIDCSession(t *testing.T, m *login.OIDC, edit func(*login.Options)) (*login.Session, *sync.WaitGroup) {
	t.Helper()
	o := login.Options{LoginHint: hint}
	if edit != nil {
		edit(&o)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // t.Context ends first, and with it every flow
	return login.New(t.Context(), sessionName, m, o), &wg
}

func claims(t *testing.T, m *login.OIDC, idToken string) map[string]any {
	t.Helper()
	c, err := m.Claims(t.Context(), idToken)
	if err != nil {
		t.Fatalf("Claims: %v", err)
	}
	return c
}

// TestOIDCDeviceFlow signs in to oidctest over the network with the
// device grant, renews, and loses the session to a revocation.
func TestOIDCDeviceFlow(t *testing.T) {
	p := oidctest.Start(t, oidctest.Options{Email: "ada@example.com"})
	m := &login.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID(), HTTPClient: p.Client()}
	// RenewAhead longer than the tokens live: every read renews.
	s, wg := newOIDCSession(t, m, func(o *login.Options) { o.RenewAhead = 2 * time.Hour })

	f, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.UserCode == "" || f.URL != p.Issuer()+"/device?user_code="+url.QueryEscape(f.UserCode) {
		t.Fatalf("flow URL %q, code %q: want the provider's verification_uri_complete", f.URL, f.UserCode)
	}
	if err := p.Approve(f.UserCode); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, f); err != nil {
		t.Fatalf("device sign-in: %v", err)
	}

	first, err := s.Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c := claims(t, m, first.IDToken); c["email"] != "ada@example.com" || c["aud"] != p.ClientID() || c["iss"] != p.Issuer() {
		t.Errorf("claims = %v", c)
	}
	if got := p.Grants("refresh_token"); got != 1 {
		t.Errorf("%d refreshes at the provider, want 1 (RenewAhead exceeds the lifetime)", got)
	}
	second, err := s.Tokens(t.Context())
	if err != nil {
		t.Fatalf("renewal: %v", err)
	}
	if second.IDToken == first.IDToken || second.RefreshToken == first.RefreshToken {
		t.Error("renewal returned the same tokens; want a new ID token and the rotated refresh token")
	}
	claims(t, m, second.IDToken)

	p.Revoke()
	// The ID token in hand is still valid, but the renewal (every read
	// renews) is refused: the session is over and its tokens are not
	// handed out any more.
	if _, err := s.Tokens(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
		t.Errorf("after revocation, Tokens = %v; want cred.ErrLoginRequired", err)
	}
	need := s.NeedsLogin()
	if !errors.Is(need, cred.ErrLoginRequired) || !strings.Contains(need.Error(), hint) || !strings.Contains(need.Error(), p.Issuer()) {
		t.Errorf("NeedsLogin = %v, want cred.ErrLoginRequired naming the provider and %q", need, hint)
	}
}

// TestOIDCDevicePolling runs the device grant in a synctest bubble, where
// the one-second polling interval and slow_down pass in fake time.
func TestOIDCDevicePolling(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     oidctest.Options
		decide   func(p *oidctest.Provider, userCode string) error // after 2.5s
		polls    []time.Duration                                   // since Begin
		wantErr  error
		wantText string
	}{
		{name: "approved", decide: (*oidctest.Provider).Approve,
			polls: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{name: "approved, slow_down honoured", opts: oidctest.Options{SlowDown: true}, decide: (*oidctest.Provider).Approve,
			// slow_down adds 5s to the interval (RFC 8628 §3.5).
			polls: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 9 * time.Second}},
		{name: "denied", decide: (*oidctest.Provider).Deny,
			polls: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, wantText: "access_denied"},
		{name: "never approved: the flow times out", polls: nil, wantErr: login.ErrFlowTimeout, wantText: hint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := oidctest.InProcess(t, tc.opts)
				m := &login.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID(), HTTPClient: p.Client()}
				s, wg := newOIDCSession(t, m, func(o *login.Options) { o.FlowTimeout = 2 * time.Minute })
				start := time.Now()
				f, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: true})
				if err != nil {
					t.Fatal(err)
				}
				if tc.decide != nil {
					time.Sleep(2500 * time.Millisecond)
					if err := tc.decide(p, f.UserCode); err != nil {
						t.Fatal(err)
					}
				}
				<-f.Done()
				err = f.Err()
				switch {
				case tc.wantText == "" && err != nil:
					t.Fatalf("flow: %v", err)
				case tc.wantText != "" && (err == nil || !strings.Contains(err.Error(), tc.wantText)):
					t.Fatalf("flow error = %v, want it to contain %q", err, tc.wantText)
				case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
					t.Fatalf("flow error = %v, want %v", err, tc.wantErr)
				}
				if tc.polls != nil {
					var got []time.Duration
					for _, at := range p.Polls() {
						got = append(got, at.Sub(start))
					}
					if !slices.Equal(got, tc.polls) {
						t.Errorf("polled at %v, want %v", got, tc.polls)
					}
				}
			})
		})
	}
}

// TestOIDCSessionLifetime follows a device sign-in through renewal,
// revocation and the end of the last ID token, in fake time.
func TestOIDCSessionLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := oidctest.InProcess(t, oidctest.Options{TTL: time.Hour})
		m := &login.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID(), HTTPClient: p.Client()}
		s, wg := newOIDCSession(t, m, nil) // RenewAhead: the default 5m
		f, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Approve(f.UserCode); err != nil {
			t.Fatal(err)
		}
		<-f.Done()
		if err := f.Err(); err != nil {
			t.Fatal(err)
		}
		signedIn, err := s.Tokens(t.Context())
		if err != nil {
			t.Fatal(err)
		}

		time.Sleep(50 * time.Minute)
		if tok, err := s.Tokens(t.Context()); err != nil || tok.IDToken != signedIn.IDToken {
			t.Fatalf("10 minutes before expiry: %v, or renewed too early", err)
		}
		time.Sleep(6 * time.Minute)
		renewed, err := s.Tokens(t.Context())
		if err != nil || renewed.IDToken == signedIn.IDToken || !renewed.Expiry.After(signedIn.Expiry) {
			t.Fatalf("4 minutes before expiry: %v; want a renewed ID token", err)
		}
		claims(t, m, renewed.IDToken)

		p.Revoke()
		time.Sleep(50 * time.Minute)
		if tok, err := s.Tokens(t.Context()); err != nil || tok.IDToken != renewed.IDToken {
			t.Fatalf("revoked, renewal not due yet: %v; want the valid ID token", err)
		}
		time.Sleep(6 * time.Minute)
		_, err = s.Tokens(t.Context())
		if !errors.Is(err, cred.ErrLoginRequired) || !strings.Contains(err.Error(), hint) {
			t.Fatalf("revoked, renewal refused: %v; want cred.ErrLoginRequired naming %q", err, hint)
		}
		if got := p.Grants("refresh_token"); got != 1 {
			t.Errorf("%d refreshes granted, want 1", got)
		}
	})
}

// startMockoidc runs a mockoidc until the test ends.
func startMockoidc(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	mo, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mo.Shutdown() })
	return mo
}

func mockoidcMethod(mo *mockoidc.MockOIDC) *login.OIDC {
	c := mo.Config()
	// mockoidc knows no offline_access; it issues refresh tokens anyway.
	return &login.OIDC{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		Scopes: []string{"openid", "email"}, HTTPClient: &http.Client{Timeout: 10 * time.Second}}
}

// TestOIDCBrowserFlow signs in to mockoidc with authorization code and
// PKCE: the test plays the browser, and mockoidc approves at once.
func TestOIDCBrowserFlow(t *testing.T) {
	for _, tc := range []struct {
		name string
		// tamper changes the authorize request the "browser" sends.
		tamper func(q url.Values)
		// tokenErrors are queued between the authorize redirect and the
		// callback, so they hit the token endpoint.
		tokenErrors int
		wantErr     string
	}{
		{name: "signed in"},
		{name: "a nonce not ours", tamper: func(q url.Values) { q.Set("nonce", "someone-elses") }, wantErr: "nonce does not match"},
		{name: "a PKCE challenge not ours", tamper: func(q url.Values) {
			q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
		}, wantErr: "Code challenge did not match"},
		// oauth2 sends the client credentials in a header first and, on
		// any error, again in the form: both attempts must fail.
		{name: "the token endpoint fails", tokenErrors: 2, wantErr: "temporarily_unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mo := startMockoidc(t)
			m := mockoidcMethod(mo)
			s, wg := newOIDCSession(t, m, nil)
			f, err := s.Begin(t.Context(), wg, login.FlowOptions{})
			if err != nil {
				t.Fatal(err)
			}
			authURL, err := url.Parse(f.URL)
			if err != nil {
				t.Fatal(err)
			}
			q := authURL.Query()
			if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" || q.Get("state") == "" {
				t.Fatalf("authorize URL %s lacks PKCE S256, a nonce or a state", f.URL)
			}
			if !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") {
				t.Errorf("redirect_uri = %q, want a loopback address", q.Get("redirect_uri"))
			}
			if tc.tamper != nil {
				tc.tamper(q)
				authURL.RawQuery = q.Encode()
			}

			browser := &http.Client{Timeout: 10 * time.Second}
			if tc.tokenErrors > 0 {
				browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			}
			resp, err := browser.Get(authURL.String())
			if err != nil {
				t.Fatal(err)
			}
			if tc.tokenErrors > 0 {
				resp.Body.Close()
				for range tc.tokenErrors {
					mo.QueueError(&mockoidc.ServerError{Code: http.StatusServiceUnavailable, Error: "temporarily_unavailable", Description: "try later"})
				}
				if resp, err = browser.Get(resp.Header.Get("Location")); err != nil {
					t.Fatal(err)
				}
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			err = wait(t, f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), m.Issuer) {
					t.Fatalf("flow error = %v, want it to name %q and the issuer", err, tc.wantErr)
				}
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "Sign-in failed") {
					t.Errorf("the browser saw %s %q", resp.Status, page)
				}
				if _, err := s.Tokens(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
					t.Errorf("Tokens after a failed sign-in = %v, want login required", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("flow: %v", err)
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Signed in") {
				t.Errorf("the browser saw %s %q", resp.Status, page)
			}
			tok, err := s.Tokens(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			c := claims(t, m, tok.IDToken)
			if c["nonce"] != q.Get("nonce") || c["email"] != mockoidc.DefaultUser().Email {
				t.Errorf("claims = %v, want the sign-in's nonce %q and the user's email", c, q.Get("nonce"))
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}

			// mockoidc's ID tokens live 10 minutes; renew with the refresh token.
			renewed, err := m.Refresh(t.Context(), tok)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			claims(t, m, renewed.IDToken)
		})
	}
}

func TestOIDCDeviceFlowUnsupported(t *testing.T) {
	mo := startMockoidc(t) // advertises no device_authorization_endpoint
	s, wg := newOIDCSession(t, mockoidcMethod(mo), nil)
	_, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: true})
	if err == nil || !strings.Contains(err.Error(), "does not offer device sign-in") || !strings.Contains(err.Error(), mo.Issuer()) {
		t.Errorf("Begin = %v, want an error naming the provider and the browser flow", err)
	}
}

// tokenEndpoint answers token requests with a canned response and passes
// everything else through.
type tokenEndpoint struct {
	base   http.RoundTripper
	status int
	body   string
	err    error
	// echo puts the request's form where "@FORM@" is in body, as a
	// proxy's or a provider's error page might.
	echo bool
}

func (te tokenEndpoint) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/token" {
		return te.base.RoundTrip(r)
	}
	if te.err != nil {
		return nil, te.err
	}
	body := te.body
	if te.echo {
		form, _ := io.ReadAll(r.Body)
		body = strings.ReplaceAll(body, "@FORM@", string(form))
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(te.status)
	_, _ = io.WriteString(rec, body)
	return rec.Result(), nil
}

// TestOIDCRefreshErrors: only a refusal of the refresh token demands a
// sign-in; outages and throttling are for retrying.
func TestOIDCRefreshErrors(t *testing.T) {
	p := oidctest.Start(t, oidctest.Options{})
	for _, tc := range []struct {
		name  string
		token *tokenEndpoint // nil: the provider itself answers
		login bool           // cred.ErrLoginRequired
		text  string
	}{
		{name: "unknown or revoked refresh token", login: true, text: "invalid_grant"},
		{name: "invalid_grant with 401", token: &tokenEndpoint{status: 401, body: `{"error":"invalid_grant"}`}, login: true, text: "invalid_grant"},
		{name: "throttled", token: &tokenEndpoint{status: http.StatusTooManyRequests, body: `{"error":"slow_down"}`}, text: "slow_down"},
		{name: "server error", token: &tokenEndpoint{status: 500, body: `{"error":"server_error"}`}, text: "server_error"},
		{name: "not JSON", token: &tokenEndpoint{status: 502, body: `<html>bad gateway</html>`}, text: "502"},
		{name: "unreachable", token: &tokenEndpoint{err: errors.New("connection refused")}, text: "connection refused"},
		// The answer repeats the request, refresh token and all: it is not
		// quoted, and standard error fields are redacted.
		{name: "an error page echoing the request", token: &tokenEndpoint{status: 502, body: `<html>upstream failed for @FORM@</html>`, echo: true}, text: "not shown"},
		{name: "an error description echoing the request", token: &tokenEndpoint{status: 500, body: `{"error":"server_error","error_description":"cannot handle @FORM@"}`, echo: true}, text: "server_error"},
		{name: "invalid_grant echoing the request", token: &tokenEndpoint{status: 400, body: `{"error":"invalid_grant","error_description":"@FORM@"}`, echo: true}, login: true, text: "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := p.Client()
			if tc.token != nil {
				te := *tc.token
				te.base = client.Transport
				client = &http.Client{Transport: te, Timeout: 10 * time.Second}
			}
			m := &login.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID(), HTTPClient: client}
			const refreshToken = "rt/not-valid+here=="
			_, err := m.Refresh(t.Context(), login.Tokens{RefreshToken: refreshToken})
			if err == nil || errors.Is(err, cred.ErrLoginRequired) != tc.login {
				t.Fatalf("Refresh = %v, want login required=%v", err, tc.login)
			}
			if strings.Contains(err.Error(), "not-valid") {
				t.Errorf("Refresh = %q: it repeats the refresh token", err)
			}
			if !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), p.Issuer()) {
				t.Errorf("Refresh = %q, want it to name the provider and %q", err, tc.text)
			}
		})
	}
}

// TestOIDCRejects: ID tokens that must never be used, and providers that
// are not what the configuration says.
func TestOIDCRejects(t *testing.T) {
	p := oidctest.Start(t, oidctest.Options{})
	other := oidctest.Start(t, oidctest.Options{ClientID: p.ClientID()})
	ok := &login.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID(), HTTPClient: p.Client()}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	notOIDC := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notOIDC.Close)
	// Same server, another name: its discovery document names 127.0.0.1.
	aliased := strings.Replace(p.Issuer(), "127.0.0.1", "localhost", 1)

	for _, tc := range []struct {
		name  string
		m     *login.OIDC
		token string
		want  []string // in the error; nil: accepted
	}{
		{name: "valid", m: ok, token: p.IDToken(nil)},
		{name: "signed by another provider's key", m: ok, token: other.IDToken(func(c map[string]any) { c["iss"] = p.Issuer() }),
			want: []string{p.Issuer(), "rejected"}},
		{name: "another provider's own token", m: ok, token: other.IDToken(nil),
			want: []string{p.Issuer(), "rejected"}},
		{name: "another issuer claim", m: ok, token: p.IDToken(func(c map[string]any) { c["iss"] = "https://evil.example" }),
			want: []string{p.Issuer(), "issued by a different provider"}},
		{name: "wrong audience", m: ok, token: p.IDToken(func(c map[string]any) { c["aud"] = "another-client" }),
			want: []string{p.Issuer(), "audience"}},
		{name: "expired", m: ok, token: p.IDToken(func(c map[string]any) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}), want: []string{p.Issuer(), "expired"}},
		{name: "not a JWT", m: ok, token: "not-a-jwt", want: []string{p.Issuer(), "malformed"}},
		{name: "no token", m: ok, token: "", want: []string{"no ID token"}},
		{name: "discovery names another issuer", m: &login.OIDC{Issuer: aliased, ClientID: p.ClientID(), HTTPClient: p.Client()},
			token: p.IDToken(nil), want: []string{aliased, "did not match"}},
		{name: "discovery unreachable", m: &login.OIDC{Issuer: down.URL, ClientID: "c", HTTPClient: p.Client()},
			token: p.IDToken(nil), want: []string{"discovering OpenID provider " + down.URL}},
		{name: "no discovery document", m: &login.OIDC{Issuer: notOIDC.URL, ClientID: "c", HTTPClient: p.Client()},
			token: p.IDToken(nil), want: []string{"discovering OpenID provider " + notOIDC.URL, "404"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.m.Claims(t.Context(), tc.token)
			if tc.want == nil {
				if err != nil || c["sub"] == nil {
					t.Fatalf("Claims = %v, %v; want the claims", c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Claims accepted the token: %v", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Claims error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestOIDCBeginNamesTheProvider: a sign-in that cannot start says which
// session and which provider.
func TestOIDCBeginNamesTheProvider(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, device := range []bool{false, true} {
		m := &login.OIDC{Issuer: down.URL, ClientID: "c", HTTPClient: &http.Client{Timeout: 5 * time.Second}}
		s, wg := newOIDCSession(t, m, nil)
		_, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: device})
		if err == nil || !strings.Contains(err.Error(), down.URL) || !strings.Contains(err.Error(), sessionName) {
			t.Errorf("device=%v: Begin = %v, want an error naming the session and the provider", device, err)
		}
	}
}

// Discovery failures are not cached: the provider may come back.
func TestOIDCDiscoveryRetried(t *testing.T) {
	p := oidctest.Start(t, oidctest.Options{})
	failing := true // the test's goroutine makes every request
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if failing {
			return nil, errors.New("network is unreachable")
		}
		return p.Client().Transport.RoundTrip(r)
	})}
	m := &login.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID(), HTTPClient: client}
	if _, err := m.Claims(t.Context(), p.IDToken(nil)); err == nil {
		t.Fatal("Claims succeeded with the provider unreachable")
	}
	failing = false
	if _, err := m.Claims(t.Context(), p.IDToken(nil)); err != nil {
		t.Fatalf("Claims after the provider came back: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOIDCSessionEnd: a provider that announces when the refresh token
// ends (refresh_expires_in, as Keycloak does) tells the session its end.
func TestOIDCSessionEnd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		refreshTTL time.Duration
		wantEnd    bool
	}{
		{"announced", 8 * time.Hour, true},
		{"not announced: unknown", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := oidctest.Start(t, oidctest.Options{RefreshTTL: tc.refreshTTL})
			// The method's clock dates the announced end (the ID token's
			// own expiry is checked by go-oidc, on real time).
			clk := clock.NewFake(time.Now().Add(time.Hour).Round(time.Second))
			m := &login.OIDC{Issuer: p.Issuer(), ClientID: p.ClientID(), HTTPClient: p.Client(), Clock: clk}
			s, wg := newOIDCSession(t, m, nil)
			f, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Approve(f.UserCode); err != nil {
				t.Fatal(err)
			}
			if err := wait(t, f); err != nil {
				t.Fatal(err)
			}
			end := s.Ends()
			if !tc.wantEnd {
				if !end.IsZero() {
					t.Errorf("Ends = %v, want unknown", end)
				}
				return
			}
			if want := clk.Now().Add(tc.refreshTTL); !end.Equal(want) {
				t.Errorf("Ends = %v, want %v (the method's clock + refresh_expires_in)", end, want)
			}
		})
	}
}
