package login_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"
	"github.com/aws/aws-sdk-go-v2/service/signin"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/privatetest"
	"github.com/credd/credd/internal/signintest"
	"github.com/credd/credd/login"
)

func signInMethod(f *signintest.Server, dir string) *login.SignIn {
	return &login.SignIn{Region: "eu-west-1", Endpoint: f.URL, Session: f.Session(), CacheDir: dir}
}

func signInSession(t *testing.T, m *login.SignIn) (*login.Session, *sync.WaitGroup, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	s := login.New(t.Context(), "signin/console", m, login.Options{LoginHint: "credd login --signin --profile console",
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	m.Restore(t.Context(), s)
	return s, &wg, logs
}

func noSignInSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, p := range []string{signintest.PrefixRefresh, signintest.PrefixSecret, signintest.PrefixSession, signintest.PrefixCode, "PRIVATE KEY"} {
		if strings.Contains(s, p) {
			t.Errorf("%s contains a secret (%s...):\n%s", where, p, s)
		}
	}
}

// sdkProvider is aws-sdk-go-v2's own `aws login` provider on the cache
// file of the fake's session.
func sdkProvider(t *testing.T, f *signintest.Server, dir string) (*logincreds.Provider, string) {
	t.Helper()
	path, err := logincreds.StandardCachedTokenFilepath(f.Session(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != login.LoginCacheFile(dir, f.Session()) {
		t.Fatalf("cache file %s, the SDK's is %s", login.LoginCacheFile(dir, f.Session()), path)
	}
	c := signin.New(signin.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.URL), Retryer: aws.NopRetryer{}})
	return logincreds.New(c, path), path
}

// TestSignInBrowser: a browser sign-in with PKCE and DPoP; the session's
// credentials are shared through the AWS CLI's login cache, which the
// SDK's provider reads, and renews with credd's key; credd then takes the
// SDK's renewal rather than spending a refresh token the SDK rotated.
func TestSignInBrowser(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	dir := filepath.Join(t.TempDir(), "login", "cache")
	s, wg, logs := signInSession(t, signInMethod(f, dir))
	browserSignIn(t, s, wg)

	tok, err := s.Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	issued := f.LastCredentials()
	if tok.Extra[login.ExtraAccessKeyID] != issued.AccessKeyID || tok.Extra[login.ExtraAccountID] != f.Account() ||
		tok.Extra[login.ExtraLoginSession] != f.Session() || tok.Extra[login.ExtraClientID] != login.SignInClientSameDevice ||
		tok.Expiry.Before(time.Now().Add(14*time.Minute)) {
		t.Fatalf("tokens: %v %v", tok, tok.Extra[login.ExtraAccessKeyID])
	}

	// The cache: 0600 in a 0700 directory (on Windows, each with a DACL
	// that admits the user alone), in the CLI's format.
	p, path := sdkProvider(t, f, dir)
	for name, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		privatetest.Check(t, name)
		if fi, err := os.Stat(name); runtime.GOOS != "windows" && (err != nil || fi.Mode().Perm() != want) {
			t.Errorf("%s: %v %v, want %v", name, fi.Mode(), err, want)
		}
	}
	raw, _ := os.ReadFile(path)
	var file map[string]any
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	at, _ := file["accessToken"].(map[string]any)
	if exp, _ := at["expiresAt"].(string); !strings.HasSuffix(exp, "Z") || len(exp) != len("2006-01-02T15:04:05Z") ||
		file["idToken"] != tok.IDToken || !strings.HasPrefix(file["dpopKey"].(string), "-----BEGIN EC PRIVATE KEY-----") {
		t.Errorf("cache file fields: %v", file)
	}
	c, err := p.Retrieve(t.Context())
	if err != nil || c.AccessKeyID != issued.AccessKeyID || c.AccountID != f.Account() {
		t.Fatalf("the SDK read %+v, %v", c, err)
	}
	if n := f.Calls("CreateOAuth2Token/refresh_token"); n != 0 {
		t.Fatalf("the SDK renewed valid credentials (%d)", n)
	}

	// The SDK renews (its credentials expired, as it sees them): with
	// credd's DPoP key, which the fake bound the refresh token to.
	expireCacheFile(t, path)
	c, err = p.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("the SDK renewing credd's session: %v (refused: %q)", err, f.Refusals())
	}
	if c.AccessKeyID == issued.AccessKeyID || f.Calls("CreateOAuth2Token/refresh_token") != 1 {
		t.Fatalf("the SDK's renewal: %+v", c)
	}
	// credd renews next: it takes the SDK's renewal, with no call (its
	// own refresh token was rotated away).
	got, err := (signInMethod(f, dir)).Refresh(t.Context(), tok)
	if err != nil {
		t.Fatalf("credd after the SDK renewed: %v (refused: %q)", err, f.Refusals())
	}
	if got.Extra[login.ExtraAccessKeyID] != c.AccessKeyID || f.Calls("CreateOAuth2Token/refresh_token") != 1 {
		t.Errorf("credd took %s after %d renewals, want the SDK's %s", got.Extra[login.ExtraAccessKeyID], f.Calls("CreateOAuth2Token/refresh_token"), c.AccessKeyID)
	}
	noSignInSecrets(t, "the log", logs.String())
}

// expireCacheFile makes the cached credentials look expired (and
// aws-sdk-go-v2 then renews; botocore renews under 5 minutes left).
func expireCacheFile(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["accessToken"].(map[string]any)["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSignInRenewal: credd renews with its refresh token and key; the
// refresh token rotates and the cache follows; a session the service
// ended needs a sign-in; throttling is a failure a retry may fix.
func TestSignInRenewal(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	dir := t.TempDir()
	m := signInMethod(f, dir)
	s, wg, _ := signInSession(t, m)
	browserSignIn(t, s, wg)
	tok, _ := s.Tokens(t.Context())

	next, err := m.Refresh(t.Context(), tok)
	if err != nil {
		t.Fatalf("%v (refused: %q)", err, f.Refusals())
	}
	if next.RefreshToken == tok.RefreshToken || next.Extra[login.ExtraAccessKeyID] != f.LastCredentials().AccessKeyID ||
		next.Extra[login.ExtraDPoPKey] != tok.Extra[login.ExtraDPoPKey] || next.IDToken != tok.IDToken {
		t.Fatalf("renewed tokens differ wrongly from %v: %v", tok, next)
	}
	if err := m.Kept(next); err != nil {
		t.Fatal(err)
	}
	// The old refresh token is spent; with nothing later in the cache than
	// what it renewed, a second use is refused: only a sign-in helps.
	if err := os.Remove(login.LoginCacheFile(dir, f.Session())); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(t.Context(), tok); !errors.Is(err, cred.ErrLoginRequired) {
		t.Errorf("spent refresh token: err = %v, want ErrLoginRequired", err)
	}

	f.Throttle(1)
	if _, err := m.Refresh(t.Context(), next); err == nil || errors.Is(err, cred.ErrLoginRequired) {
		t.Errorf("throttled: err = %v, want a failure a retry may fix", err)
	}
	next, err = m.Refresh(t.Context(), next)
	if err != nil {
		t.Fatalf("after the throttling: %v", err)
	}
	for name, end := range map[string]func(){"password changed": f.ChangePassword, "session ended": f.EndSession} {
		end()
		_, err := m.Refresh(t.Context(), next)
		if !errors.Is(err, cred.ErrLoginRequired) {
			t.Errorf("%s: err = %v, want ErrLoginRequired", name, err)
		}
		noSignInSecrets(t, "the error", err.Error())
	}
}

// TestSignInOtherUser: a sign-in as someone other than the profile's
// login_session is refused, naming both, and shares nothing.
func TestSignInOtherUser(t *testing.T) {
	f := signintest.New(t, signintest.Options{Session: "arn:aws:iam::444455556666:user/mallory"})
	dir := t.TempDir()
	m := signInMethod(f, dir)
	m.Session = signintest.DefaultSession
	s, wg, _ := signInSession(t, m)
	fl, err := s.Begin(t.Context(), wg, login.FlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fl.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	err = wait(t, fl)
	if err == nil || !strings.Contains(err.Error(), "mallory") || !strings.Contains(err.Error(), signintest.DefaultSession) {
		t.Fatalf("err = %v, want one naming both sessions", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("cache has %d files", len(entries))
	}
	if s.NeedsLogin() == nil {
		t.Error("the session is signed in")
	}
}

// TestSignInRemote: the cross-device sign-in: the user opens the URL
// anywhere and pastes the page's code; a wrong code is refused and the
// right one still works.
func TestSignInRemote(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	m := signInMethod(f, "")
	authURL, redeem, err := m.StartRemote(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(authURL) // follows to the confirmation page
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code, ok := signintest.PageCode(string(page))
	if !ok {
		t.Fatalf("no code on %s", page)
	}
	for _, wrong := range []string{"not base64!", signintest.VerificationCode("c", "other-state"), "c3RhdGU9eA=="} {
		if _, err := redeem(t.Context(), wrong); !errors.Is(err, login.ErrWrongCode) {
			t.Errorf("pasting %q: err = %v, want ErrWrongCode", wrong, err)
		}
	}
	tok, err := redeem(t.Context(), " "+code+"\n")
	if err != nil {
		t.Fatalf("%v (refused: %q)", err, f.Refusals())
	}
	if tok.Extra[login.ExtraClientID] != login.SignInClientCrossDevice || tok.Extra[login.ExtraAccessKeyID] == "" {
		t.Errorf("tokens %v", tok.Extra[login.ExtraClientID])
	}
	if _, err := m.Refresh(t.Context(), tok); err != nil {
		t.Errorf("renewing a cross-device session: %v", err)
	}
}

// TestSignInTakesTheCLICache: a session `aws login` left in the cache is
// taken at start and renewed; logout removes the file.
func TestSignInTakesTheCLICache(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	dir := t.TempDir()
	// A first credd signs in and stops: its cache file is what `aws login`
	// would have left.
	first, wg, _ := signInSession(t, signInMethod(f, dir))
	browserSignIn(t, first, wg)
	path := login.LoginCacheFile(dir, f.Session())
	expireCacheFile(t, path)

	m := signInMethod(f, dir)
	s, _, logs := signInSession(t, m)
	if s.NeedsLogin() != nil {
		t.Fatalf("the cached session was not taken: %v", s.NeedsLogin())
	}
	tok, err := s.Tokens(t.Context()) // expired: renews
	if err != nil {
		t.Fatalf("%v (refused: %q)", err, f.Refusals())
	}
	if tok.Extra[login.ExtraAccessKeyID] != f.LastCredentials().AccessKeyID || f.Calls("CreateOAuth2Token/refresh_token") != 1 {
		t.Errorf("tokens after renewal: %s, %d renewals", tok.Extra[login.ExtraAccessKeyID], f.Calls("CreateOAuth2Token/refresh_token"))
	}
	if !strings.Contains(logs.String(), "taken from the AWS CLI login cache") {
		t.Errorf("log: %s", logs)
	}
	if err := m.Logout(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cache file after logout: %v", err)
	}
	if s.NeedsLogin() == nil {
		t.Error("signed in after logout")
	}
}

// TestLoginCacheRead: what ReadLoginCache refuses (and so never takes).
func TestLoginCacheRead(t *testing.T) {
	dir := t.TempDir()
	good := func() map[string]any {
		return map[string]any{
			"accessToken": map[string]any{"accessKeyId": "AKIA", "secretAccessKey": "s", "sessionToken": "t", "accountId": "111122223333", "expiresAt": "2030-01-01T00:00:00Z"},
			"clientId":    login.SignInClientSameDevice, "refreshToken": "r",
			// botocore's test fixture key, in PKCS #8.
			"dpopKey": "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+PNauWi/ihtwHHbq\n1tgc8Vgpwx0qQlNSN38y+z0igWehRANCAAR2Ntw6BXJ1v8jb9XjzKZJ+gL5f/3Jq\nIqiH2PUGKWxoFwNlcNB83FivEXEzlTbuCQK5OezOYb3gbvHuzKkB0nDX\n-----END PRIVATE KEY-----",
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		ok     bool
	}{
		{"good", func(map[string]any) {}, true},
		{"fractional expiry, as aws-sdk-go-v2 writes it", func(m map[string]any) {
			m["accessToken"].(map[string]any)["expiresAt"] = "2030-01-01T00:00:00.123456789Z"
		}, true},
		{"no refresh token", func(m map[string]any) { delete(m, "refreshToken") }, false},
		{"no key", func(m map[string]any) { delete(m, "dpopKey") }, false},
		{"garbage key", func(m map[string]any) {
			m["dpopKey"] = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"
		}, false},
		{"no account", func(m map[string]any) { delete(m["accessToken"].(map[string]any), "accountId") }, false},
		{"bad expiry", func(m map[string]any) { m["accessToken"].(map[string]any)["expiresAt"] = "tomorrow" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.mutate(m)
			b, _ := json.Marshal(m)
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := login.ReadLoginCache(path)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, login.ErrBadLoginCache)) {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// A file being rewritten in place by the AWS CLI (truncated) is not a session.
	path := filepath.Join(dir, "torn.json")
	_ = os.WriteFile(path, []byte(`{"accessToken": {"accessKe`), 0o600)
	if _, err := login.ReadLoginCache(path); !errors.Is(err, login.ErrBadLoginCache) {
		t.Errorf("torn file: err = %v", err)
	}
}
