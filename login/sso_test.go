package login_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/ssotest"
	"github.com/credd/credd/login"
	"github.com/credd/credd/store"
)

const ssoStart = "https://corp.awsapps.com/start"

// ssoPeer is the fake Identity Center with a record of every /token body.
type ssoPeer struct {
	*ssotest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newSSOPeer(t *testing.T, o ssotest.Options) *ssoPeer {
	t.Helper()
	p := &ssoPeer{Server: ssotest.NewHandler(o)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			p.mu.Lock()
			p.bodies = append(p.bodies, m)
			p.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		p.Server.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *ssoPeer) tokenBodies() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.bodies...)
}

func (p *ssoPeer) method(c clock.Clock) *login.SSO {
	return &login.SSO{StartURL: ssoStart, Region: "eu-west-1", Endpoint: p.URL, Clock: c}
}

// ssoSession is a session for m with a memory store (st, if given) and a
// captured log.
func ssoSession(t *testing.T, m *login.SSO, st login.Store) (*login.Session, *sync.WaitGroup, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	s := login.New(t.Context(), "sso/corp", m, login.Options{Store: st, LoginHint: "credd login --sso-session corp",
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	m.Restore(t.Context(), s)
	return s, &wg, logs
}

// browserSignIn runs a browser flow, the browser being a client that
// follows the authorize redirect to the loopback callback.
func browserSignIn(t *testing.T, s *login.Session, wg *sync.WaitGroup) *login.Flow {
	t.Helper()
	f, err := s.Begin(t.Context(), wg, login.FlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := wait(t, f); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return f
}

func noSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, p := range []string{ssotest.PrefixAccess, ssotest.PrefixRefresh, ssotest.PrefixSecret} {
		if strings.Contains(s, p) {
			t.Errorf("%s contains a secret (%s...):\n%s", where, p, s)
		}
	}
}

func TestSSOBrowserSignIn(t *testing.T) {
	p := newSSOPeer(t, ssotest.Options{})
	m := p.method(nil)
	st := store.NewMemory()
	s, wg, logs := ssoSession(t, m, st)

	f := browserSignIn(t, s, wg)
	u, err := url.Parse(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	for name, ok := range map[string]bool{
		"authorize endpoint":    u.Scheme+"://"+u.Host+u.Path == p.URL+"/authorize",
		"response_type=code":    q.Get("response_type") == "code",
		"S256":                  q.Get("code_challenge_method") == "S256" && len(q.Get("code_challenge")) == 43,
		"scopes":                q.Get("scopes") == "sso:account:access",
		"state":                 len(q.Get("state")) >= 16,
		"loopback redirect":     redirect.Hostname() == "127.0.0.1" && redirect.Port() != "" && redirect.Path == "/oauth/callback",
		"client id registered":  strings.HasPrefix(q.Get("client_id"), "ssotest-client-"),
		"one registration":      p.Calls("RegisterClient") == 1,
		"one code exchange":     p.Calls("CreateToken/authorization_code") == 1,
		"no secret in the link": !strings.Contains(f.URL, ssotest.PrefixSecret),
	} {
		if !ok {
			t.Errorf("%s: authorize URL %s", name, f.URL)
		}
	}
	bodies := p.tokenBodies()
	if v, _ := bodies[0]["codeVerifier"].(string); len(v) != 64 || bodies[0]["redirectUri"] != q.Get("redirect_uri") {
		t.Errorf("CreateToken body: verifier of %d characters, redirect %v; want 64 and the flow's", len(v), bodies[0]["redirectUri"])
	}
	tok, err := s.Tokens(t.Context())
	if err != nil || !strings.HasPrefix(tok.AccessToken, ssotest.PrefixAccess) || tok.RefreshToken == "" ||
		tok.Extra[login.ExtraClientID] != q.Get("client_id") || tok.Extra[login.ExtraClientSecret] == "" || tok.Extra[login.ExtraRegistrationExpiresAt] == "" {
		t.Fatalf("tokens %v, extra keys %d: %v", tok, len(tok.Extra), err)
	}
	if d := time.Until(tok.Expiry); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expiry in %v, want the 1h expiresIn", d)
	}
	// The session cannot outlast the client registration: that is its
	// known end, the one credd warns of.
	regEnd, _ := time.Parse(time.RFC3339, tok.Extra[login.ExtraRegistrationExpiresAt])
	if !s.Ends().Equal(regEnd) || time.Until(regEnd) < 89*24*time.Hour {
		t.Errorf("Ends() = %v, want the registration's end %v (90 days)", s.Ends(), regEnd)
	}

	// A second sign-in reuses the registration; so does a restarted
	// session from the store.
	browserSignIn(t, s, wg)
	m2 := p.method(nil)
	s2, wg2, _ := ssoSession(t, m2, st)
	browserSignIn(t, s2, wg2)
	if n := p.Calls("RegisterClient"); n != 1 {
		t.Errorf("RegisterClient called %d times for three sign-ins, want 1 (registration reused)", n)
	}
	noSecrets(t, "the log", logs.String())
}

func TestSSORegistrationRenewedWhenExpiring(t *testing.T) {
	p := newSSOPeer(t, ssotest.Options{RegistrationTTL: 30 * time.Minute})
	s, wg, _ := ssoSession(t, p.method(nil), nil)
	browserSignIn(t, s, wg)
	browserSignIn(t, s, wg)
	if n := p.Calls("RegisterClient"); n != 2 {
		t.Errorf("RegisterClient called %d times, want 2: a registration with under an hour left is renewed", n)
	}
}

func TestSSORefresh(t *testing.T) {
	future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name      string
		edit      func(p *ssoPeer, tok *login.Tokens)
		wantLogin bool // cred.ErrLoginRequired
		wantCalls int  // refresh grants sent
		wantErr   string
	}{
		{"renewed", func(*ssoPeer, *login.Tokens) {}, false, 1, ""},
		{"session ended", func(p *ssoPeer, _ *login.Tokens) { p.EndSession() }, true, 1, "InvalidGrantException"},
		{"no refresh token", func(_ *ssoPeer, tok *login.Tokens) { tok.RefreshToken = "" }, true, 0, "no refresh token"},
		{"registration expired", func(_ *ssoPeer, tok *login.Tokens) { tok.Extra[login.ExtraRegistrationExpiresAt] = past }, true, 0, "registration expired"},
		{"no registration", func(_ *ssoPeer, tok *login.Tokens) { tok.Extra = nil }, true, 0, "no client registration"},
		{"client unknown", func(_ *ssoPeer, tok *login.Tokens) {
			tok.Extra[login.ExtraClientID] = "someone-else"
			tok.Extra[login.ExtraRegistrationExpiresAt] = future
		}, true, 1, "InvalidClientException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newSSOPeer(t, ssotest.Options{})
			m := p.method(nil)
			s, wg, _ := ssoSession(t, m, nil)
			browserSignIn(t, s, wg)
			tok, _ := s.Tokens(t.Context())
			tc.edit(p, &tok)
			before := p.Calls("CreateToken/refresh_token")
			got, err := m.Refresh(t.Context(), tok)
			if n := p.Calls("CreateToken/refresh_token") - before; n != tc.wantCalls {
				t.Errorf("%d refresh grants, want %d", n, tc.wantCalls)
			}
			if tc.wantErr == "" {
				if err != nil || got.AccessToken == tok.AccessToken || got.RefreshToken == tok.RefreshToken || got.Extra[login.ExtraClientID] != tok.Extra[login.ExtraClientID] {
					t.Fatalf("refresh: %v, %v", got, err)
				}
				return
			}
			if errors.Is(err, cred.ErrLoginRequired) != tc.wantLogin || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want login-required %v mentioning %q", err, tc.wantLogin, tc.wantErr)
			}
			noSecrets(t, "the error", err.Error())
		})
	}
}

// recordingClock fires every timer at once and records what was asked:
// the device poll intervals, without waiting for them.
type recordingClock struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *recordingClock) Now() time.Time { return time.Now() }

func (c *recordingClock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return clock.NewFake(time.Now()).NewTimer(0)
}

func (c *recordingClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func TestSSODeviceSignIn(t *testing.T) {
	for _, tc := range []struct {
		name      string
		o         ssotest.Options
		expire    bool
		wantWaits []time.Duration
		wantErr   string
	}{
		{"approved at once", ssotest.Options{}, false, nil, ""},
		{"pending twice", ssotest.Options{PendingPolls: 2, Interval: 3}, false, []time.Duration{3 * time.Second, 3 * time.Second}, ""},
		{"slow down adds 5s", ssotest.Options{SlowDown: true, PendingPolls: 2}, false, []time.Duration{6 * time.Second, 6 * time.Second}, ""},
		{"code expires", ssotest.Options{PendingPolls: 1 << 30}, true, nil, "expired"}, // never approved: only the expiry ends it
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newSSOPeer(t, tc.o)
			c := &recordingClock{}
			s, wg, logs := ssoSession(t, p.method(c), nil)
			f, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: true})
			if err != nil {
				t.Fatal(err)
			}
			if f.UserCode == "" || !strings.Contains(f.URL, f.UserCode) || !f.Device {
				t.Errorf("flow %+v: want the verification URI with the user code", f)
			}
			if tc.expire {
				p.ExpireDevices()
			}
			err = wait(t, f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if _, err := s.Tokens(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
					t.Errorf("after a failed sign-in: %v, want login-required", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.recorded(); len(got) != len(tc.wantWaits) || (len(got) > 0 && got[len(got)-1] != tc.wantWaits[len(got)-1]) {
				t.Errorf("waited %v between polls, want %v", got, tc.wantWaits)
			}
			if tok, err := s.Tokens(t.Context()); err != nil || !strings.HasPrefix(tok.AccessToken, ssotest.PrefixAccess) {
				t.Errorf("tokens after device sign-in: %v", err)
			}
			if body := p.tokenBodies()[0]; body["grantType"] != ssotest.GrantDeviceCode {
				t.Errorf("grant %v", body["grantType"])
			}
			noSecrets(t, "the log", logs.String())
		})
	}
}

func TestSSODeviceSignInCancelled(t *testing.T) {
	p := newSSOPeer(t, ssotest.Options{PendingPolls: 1 << 30, Interval: 3600})
	s, wg, _ := ssoSession(t, p.method(nil), nil)
	f, err := s.Begin(t.Context(), wg, login.FlowOptions{Device: true})
	if err != nil {
		t.Fatal(err)
	}
	f.Cancel()
	if err := wait(t, f); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want cancelled", err)
	}
}

func TestSSORegisterFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Errortype", "InvalidRequestRegionException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"wrong region"}`))
	}))
	t.Cleanup(srv.Close)
	m := &login.SSO{StartURL: ssoStart, Region: "eu-west-1", Endpoint: srv.URL}
	s, wg, _ := ssoSession(t, m, nil)
	_, err := s.Begin(t.Context(), wg, login.FlowOptions{})
	if err == nil || !strings.Contains(err.Error(), "registering credd with IAM Identity Center (eu-west-1)") || !strings.Contains(err.Error(), "InvalidRequestRegionException") {
		t.Errorf("err = %v", err)
	}
}

func TestSSORejectedTokenNeedsSignIn(t *testing.T) {
	p := newSSOPeer(t, ssotest.Options{})
	s, wg, _ := ssoSession(t, p.method(nil), nil)
	browserSignIn(t, s, wg)
	tok, _ := s.Tokens(t.Context())
	for _, tc := range []struct {
		name      string
		token     string
		wantLogin bool
	}{
		{"another token: ignored", "not-the-current-one", false},
		{"the current token", tok.AccessToken, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Reject(tc.token)
			_, err := s.Tokens(t.Context())
			if got := errors.Is(err, cred.ErrLoginRequired); got != tc.wantLogin {
				t.Fatalf("Tokens: %v, want login-required %v", err, tc.wantLogin)
			}
			if tc.wantLogin && (!strings.Contains(err.Error(), "credd login --sso-session corp") || s.NeedsLogin() == nil) {
				t.Errorf("err = %v, NeedsLogin %v", err, s.NeedsLogin())
			}
		})
	}
	browserSignIn(t, s, wg)
	if _, err := s.Tokens(t.Context()); err != nil || s.NeedsLogin() != nil {
		t.Errorf("after signing in again: %v", err)
	}
}

func TestSSOSharesTheAWSCLICache(t *testing.T) {
	p := newSSOPeer(t, ssotest.Options{})
	home := t.TempDir()
	file := login.AWSCLICacheFile(home, "corp")
	if want := filepath.Join(home, ".aws", "sso", "cache", "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"); file != want { // sha1("corp")
		t.Fatalf("cache file %s", file)
	}
	m := p.method(nil)
	m.CacheFile = file
	s, wg, _ := ssoSession(t, m, store.NewMemory())
	browserSignIn(t, s, wg)
	tok, _ := s.Tokens(t.Context())

	fi, err := os.Stat(file)
	if err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v, mode %v", err, fi.Mode())
	}
	var c map[string]string
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"startUrl": ssoStart, "region": "eu-west-1", "accessToken": tok.AccessToken, "refreshToken": tok.RefreshToken,
		"clientId": tok.Extra[login.ExtraClientID], "clientSecret": tok.Extra[login.ExtraClientSecret], "expiresAt": tok.Expiry.UTC().Format("2006-01-02T15:04:05Z")} {
		if c[k] != want {
			t.Errorf("cache %s = %q, want %q", k, c[k], want)
		}
	}

	oc := ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(p.URL)})
	t.Run("the SDK's ssocreds token provider reads it", func(t *testing.T) {
		got, err := ssocreds.NewSSOTokenProvider(oc, file).RetrieveBearerToken(t.Context())
		if err != nil || got.Value != tok.AccessToken {
			t.Errorf("bearer %q, %v; want the session's", got.Value, err)
		}
	})
	t.Run("the SDK renews with the registration credd cached", func(t *testing.T) {
		c2 := maps.Clone(c)
		c2["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		b, _ := json.Marshal(c2)
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		before := p.Calls("CreateToken/refresh_token")
		got, err := ssocreds.NewSSOTokenProvider(oc, file).RetrieveBearerToken(t.Context())
		if err != nil || !strings.HasPrefix(got.Value, ssotest.PrefixAccess) || got.Value == tok.AccessToken || p.Calls("CreateToken/refresh_token") != before+1 {
			t.Errorf("bearer after the SDK's renewal: %v", err)
		}
	})
	t.Run("a renewal by credd rewrites it", func(t *testing.T) {
		// A session that takes the SDK's renewal from the cache and renews
		// it at once (RenewAhead beyond the token's life).
		sess := login.New(t.Context(), "sso/corp", m, login.Options{RenewAhead: 2 * time.Hour})
		m.Restore(t.Context(), sess)
		got, err := sess.Tokens(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cur, _ := os.ReadFile(file)
		var now map[string]string
		_ = json.Unmarshal(cur, &now)
		if now["accessToken"] != got.AccessToken || now["refreshToken"] != got.RefreshToken || p.Calls("CreateToken/refresh_token") != 2 {
			t.Errorf("cache not rewritten after the renewal")
		}
	})

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cur, _ := os.ReadFile(file)
	var valid map[string]string
	_ = json.Unmarshal(cur, &valid)
	for _, tc := range []struct {
		name     string
		edit     func(c map[string]string)
		wantTake bool
	}{
		{"valid token", func(map[string]string) {}, true},
		{"expired token, renewable", func(c map[string]string) { c["expiresAt"] = past }, true},
		{"expired token, no refresh token", func(c map[string]string) { c["expiresAt"], c["refreshToken"] = past, "" }, false},
		{"expired token, registration expired", func(c map[string]string) { c["expiresAt"], c["registrationExpiresAt"] = past, past }, false},
		{"another start URL", func(c map[string]string) { c["startUrl"], c["expiresAt"] = "https://other.awsapps.com/start", future }, false},
		{"not JSON", nil, false},
	} {
		t.Run("taken at start: "+tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "cache.json")
			if tc.edit == nil {
				_ = os.WriteFile(f, []byte("{"), 0o600)
			} else {
				c := maps.Clone(valid)
				tc.edit(c)
				b, _ := json.Marshal(c)
				_ = os.WriteFile(f, b, 0o600)
			}
			m := p.method(nil)
			m.CacheFile = f
			s, _, _ := ssoSession(t, m, store.NewMemory())
			_, err := s.Tokens(t.Context())
			if (err == nil) != tc.wantTake {
				t.Errorf("Tokens: %v, want the cached session taken: %v", err, tc.wantTake)
			}
		})
	}
}

func TestSSOLogout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cacheIsOurs bool
	}{
		{"removes our cache file", true},
		{"keeps a cache file another sign-in wrote", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newSSOPeer(t, ssotest.Options{})
			m := p.method(nil)
			m.CacheFile = filepath.Join(t.TempDir(), "cache.json")
			st := store.NewMemory()
			s, wg, _ := ssoSession(t, m, st)
			browserSignIn(t, s, wg)
			if !tc.cacheIsOurs {
				_ = os.WriteFile(m.CacheFile, []byte(`{"accessToken":"someone-elses"}`), 0o600)
			}
			if err := m.Logout(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			if n := p.Calls("Logout"); n != 1 {
				t.Errorf("portal Logout called %d times", n)
			}
			if _, err := os.Stat(m.CacheFile); os.IsNotExist(err) != tc.cacheIsOurs {
				t.Errorf("cache file exists: %v, want removed: %v", err == nil, tc.cacheIsOurs)
			}
			if _, err := s.Tokens(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
				t.Errorf("after logout: %v", err)
			}
			if _, err := st.Get(t.Context(), "sso/corp"); err == nil {
				t.Errorf("the session is still in the store")
			}
			if err := m.Logout(t.Context(), s); err != nil {
				t.Errorf("a second logout (nothing to end): %v", err)
			}
		})
	}
}

// TestSSOFollowsTheAWSCLICache: a later session written to the shared
// cache (by `aws sso login`, or an SDK renewing the token) replaces the
// held one, even one that needs a sign-in; credd's own writes and older
// sessions do not.
func TestSSOFollowsTheAWSCLICache(t *testing.T) {
	p := newSSOPeer(t, ssotest.Options{})
	// cliLogin writes the cache as `aws sso login` does, with a token
	// that lasts d.
	cliLogin := func(t *testing.T, file, access string, d time.Duration) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{
			"startUrl": ssoStart, "region": "eu-west-1", "accessToken": access,
			"expiresAt": time.Now().Add(d).UTC().Format(time.RFC3339),
		})
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		before   func(t *testing.T, s *login.Session) // the held session
		write    func(t *testing.T, file string)      // the cache, after
		wantTake bool
	}{
		{"credd's own write", nil, func(*testing.T, string) {}, false},
		{"an older session", nil, func(t *testing.T, file string) { cliLogin(t, file, "cli-older", 30*time.Minute) }, false},
		{"a later session", nil, func(t *testing.T, file string) { cliLogin(t, file, "cli-later", 8*time.Hour) }, true},
		{"a later session after the held one was refused",
			func(t *testing.T, s *login.Session) {
				tok, _ := s.Tokens(t.Context())
				s.Reject(tok.AccessToken)
			},
			func(t *testing.T, file string) { cliLogin(t, file, "cli-after-refusal", 8*time.Hour) }, true},
		{"another start URL", nil, func(t *testing.T, file string) {
			b, _ := json.Marshal(map[string]string{"startUrl": "https://other.awsapps.com/start", "region": "eu-west-1", "accessToken": "other",
				"expiresAt": time.Now().Add(8 * time.Hour).UTC().Format(time.RFC3339)})
			_ = os.WriteFile(file, b, 0o600)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := login.AWSCLICacheFile(t.TempDir(), "corp")
			m := p.method(nil)
			m.CacheFile = file
			s, wg, logs := ssoSession(t, m, store.NewMemory())
			browserSignIn(t, s, wg) // writes the cache: a one-hour token
			if tc.before != nil {
				tc.before(t, s)
			}
			held, _ := s.Tokens(t.Context())
			tc.write(t, file)
			written, _ := os.ReadFile(file)

			if got := m.Follow(t.Context(), s); got != tc.wantTake {
				t.Fatalf("Follow = %v, want %v", got, tc.wantTake)
			}
			if now, _ := os.ReadFile(file); string(now) != string(written) {
				t.Errorf("Follow rewrote the cache it read:\n%s\nwas\n%s", now, written)
			}
			now, err := s.Tokens(t.Context())
			if tc.wantTake && !s.Ends().Equal(now.Expiry) {
				t.Errorf("Ends() = %v for a cached session that cannot renew, want its token's end %v", s.Ends(), now.Expiry)
			}
			switch {
			case tc.wantTake && (err != nil || !strings.HasPrefix(now.AccessToken, "cli-") || s.NeedsLogin() != nil):
				t.Errorf("after Follow: token %q, %v, NeedsLogin %v; want the cached session", now.AccessToken, err, s.NeedsLogin())
			case tc.wantTake && now.RefreshToken != "":
				t.Errorf("the held session's refresh token was kept with another sign-in's token")
			case !tc.wantTake && now.AccessToken != held.AccessToken:
				t.Errorf("token changed to %q, want the held one", now.AccessToken)
			}
			if taken := strings.Count(logs.String(), "session taken from the AWS CLI cache"); taken != map[bool]int{true: 1}[tc.wantTake] {
				t.Errorf("logged the take %d times", taken)
			}
			if m.Follow(t.Context(), s) {
				t.Errorf("the same cache taken twice")
			}
		})
	}
}

func TestReadAWSCLICache(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const start = "https://corp.awsapps.com/start"
	renewable := `"refreshToken":"RT-SECRET-2","clientId":"id","clientSecret":"CS-SECRET-3","registrationExpiresAt":`
	for _, tc := range []struct {
		name, content string
		wantToken     string // the access token, "" for an error
		wantRefresh   string
		wantErr       string
	}{
		{"valid", `{"startUrl":"` + start + `/","accessToken":"AT-SECRET-1","expiresAt":"2026-01-01T13:00:00Z"}`, "AT-SECRET-1", "", ""},
		{"expired", `{"startUrl":"` + start + `","accessToken":"AT-SECRET-1","expiresAt":"2026-01-01T11:00:00Z"}`, "", "", "expired"},
		{"expired but renewable", `{"startUrl":"` + start + `","accessToken":"AT-SECRET-1","expiresAt":"2026-01-01T11:00:00Z",` + renewable + `"2026-02-01T00:00:00Z"}`, "AT-SECRET-1", "RT-SECRET-2", ""},
		{"expired, its registration too", `{"startUrl":"` + start + `","accessToken":"AT-SECRET-1","expiresAt":"2026-01-01T11:00:00Z",` + renewable + `"2026-01-01T00:00:00Z"}`, "", "", "expired"},
		{"valid, registration expired: no refresh", `{"startUrl":"` + start + `","accessToken":"AT-SECRET-1","expiresAt":"2026-01-01T13:00:00Z",` + renewable + `"2026-01-01T00:00:00Z"}`, "AT-SECRET-1", "", ""},
		{"other start URL", `{"startUrl":"https://other.awsapps.com/start","accessToken":"AT-SECRET-1","expiresAt":"2026-01-01T13:00:00Z"}`, "", "", "not " + start},
		{"no access token", `{"startUrl":"` + start + `","expiresAt":"2026-01-01T13:00:00Z"}`, "", "", "no access token"},
		{"not JSON", `{`, "", "", "not a token cache"},
		{"missing", "", "", "", "no signed-in session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "c.json")
			if tc.content != "" {
				if err := os.WriteFile(f, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := login.ReadAWSCLICache(f, start, now)
			if got.AccessToken != tc.wantToken || got.RefreshToken != tc.wantRefresh || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %q (refresh %q), %v; want %q (refresh %q), %q", got.AccessToken, got.RefreshToken, err, tc.wantToken, tc.wantRefresh, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "-SECRET-") {
				t.Errorf("a secret is in the error: %v", err)
			}
		})
	}
}
