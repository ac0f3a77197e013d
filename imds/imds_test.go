package imds

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// staticProvider serves fixed credentials per profile; a profile mapped to
// an error is "not available".
type staticProvider map[string]any

func (p staticProvider) Current(_ context.Context, profile string) (cred.Credentials, error) {
	switch v := p[profile].(type) {
	case cred.Credentials:
		return v, nil
	case error:
		return cred.Credentials{}, v
	}
	return cred.Credentials{}, fmt.Errorf("%w: %q", cred.ErrUnknownProfile, profile)
}

var devCreds = cred.Credentials{
	AccessKeyID: "ASIADEVEXAMPLE", SecretAccessKey: "dev-secret", SessionToken: "dev-token",
	Expires: now.Add(time.Hour), Issued: now.Add(-5 * time.Minute), AccountID: "111122223333",
	RoleARN: "arn:aws:iam::111122223333:role/Developer",
}

const clientToken = "0123456789abcdef0123456789abcdef"

func newTestHandler(t testing.TB, mod func(*Options)) (*Handler, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(now)
	o := Options{
		Provider: staticProvider{
			"dev":    devCreds,
			"broken": errors.New("sign-in required: run `credd login --profile broken`"),
			"signin": fmt.Errorf("%w: profile signin: %w: run `credd login --profile signin`", cred.ErrNotAvailable, cred.ErrLoginRequired),
		},
		DefaultProfile: "dev",
		Region:         "eu-west-1",
		ClientToken:    func() []byte { return []byte(clientToken) },
		Clock:          clk,
	}
	if mod != nil {
		mod(&o)
	}
	return New(o), clk
}

func do(h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Host = "127.0.0.1:9955"
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func token(t testing.TB, h http.Handler) string {
	t.Helper()
	rec := do(h, http.MethodPut, "/latest/api/token", map[string]string{ttlHeader: "300"})
	if rec.Code != http.StatusOK {
		t.Fatalf("token PUT: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestBadInput(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	tok := token(t, h)
	auth := map[string]string{"Authorization": clientToken}
	withTok := func(extra map[string]string) map[string]string {
		m := map[string]string{tokenHeader: tok}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		code               int
		bodyHas            string
	}{
		{"token TTL missing", "PUT", "/latest/api/token", nil, 400, "21600"},
		{"token TTL 0", "PUT", "/latest/api/token", map[string]string{ttlHeader: "0"}, 400, ""},
		{"token TTL 21601", "PUT", "/latest/api/token", map[string]string{ttlHeader: "21601"}, 400, ""},
		{"token TTL abc", "PUT", "/latest/api/token", map[string]string{ttlHeader: "abc"}, 400, ""},
		{"token PUT forwarded", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60", "X-Forwarded-For": "10.0.0.1"}, 403, "forwarded"},
		{"token PUT with Forwarded", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60", "Forwarded": "for=10.0.0.1"}, 403, "Forwarded header"},
		{"token PUT with an empty Forwarded", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60", "Forwarded": ""}, 403, "Forwarded header"},
		{"token PUT with Via", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60", "Via": "1.1 proxy.internal"}, 403, "Via header"},
		{"GET on token path", "GET", "/latest/api/token", map[string]string{ttlHeader: "60"}, 405, ""},
		{"IMDS GET without token", "GET", "/latest/meta-data/iam/security-credentials/dev", nil, 401, "token"},
		{"IMDS GET with wrong token", "GET", "/latest/meta-data/iam/security-credentials/dev", map[string]string{tokenHeader: "forged"}, 401, ""},
		{"IMDS unknown profile", "GET", "/latest/meta-data/iam/security-credentials/nope", withTok(nil), 404, "nope"},
		{"IMDS unknown path", "GET", "/latest/meta-data/hostname", withTok(nil), 404, ""},
		{"IMDS POST", "POST", "/latest/meta-data/iam/security-credentials/dev", withTok(nil), 405, ""},
		{"IMDS credentials not available", "GET", "/latest/meta-data/iam/security-credentials/broken", withTok(nil), 503, "credd login --profile broken"},
		{"container without token", "GET", "/v1/credentials", nil, 401, `"code":"Unauthorized"`},
		{"container wrong token", "GET", "/v1/credentials", map[string]string{"Authorization": clientToken + "x"}, 401, ""},
		{"container token prefix only", "GET", "/v1/credentials", map[string]string{"Authorization": clientToken[:10]}, 401, ""},
		{"container unknown profile", "GET", "/v1/credentials/nope", auth, 404, `"code":"NotFound"`},
		{"container not available", "GET", "/v1/credentials/broken", auth, 503, `credd login --profile broken`},
		{"container not available: its code", "GET", "/v1/credentials/broken", auth, 503, `"code":"CredentialsNotAvailable"`},
		{"container sign-in required: its code", "GET", "/v1/credentials/signin", auth, 503, `"code":"LoginRequired","message":"credentials not available: profile signin: sign-in required: run`},
		{"IMDS sign-in required", "GET", "/latest/meta-data/iam/security-credentials/signin", withTok(nil), 503, "credd login --profile signin"},
		{"container POST", "POST", "/v1/credentials", auth, 405, ""},
		{"rebinding host", "GET", "/v1/credentials", map[string]string{"Authorization": clientToken, "Host": "evil.example"}, 403, "rebinding"},
		{"rebinding host with port", "GET", "/healthz", map[string]string{"Host": "evil.example:9955"}, 403, ""},
		{"rebinding host on token PUT", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60", "Host": "attacker.test"}, 403, ""},
		{"Origin header", "GET", "/v1/credentials", map[string]string{"Authorization": clientToken, "Origin": "http://127.0.0.1:9955"}, 403, "Origin"},
		{"Origin null", "PUT", "/latest/api/token", map[string]string{ttlHeader: "60", "Origin": "null"}, 403, ""},
		{"Sec-Fetch-Site cross-site", "GET", "/healthz", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
		{"Sec-Fetch-Site same-origin", "GET", "/healthz", map[string]string{"Sec-Fetch-Site": "same-origin"}, 403, ""},
		{"unknown path", "GET", "/v2/whatever", nil, 404, ""},
		// Accepted requests, for contrast: a test that could only refuse
		// would prove nothing.
		{"Sec-Fetch-Site none is a user's own navigation", "GET", "/healthz", map[string]string{"Sec-Fetch-Site": "none"}, 200, "ok"},
		{"localhost host", "GET", "/healthz", map[string]string{"Host": "localhost:9955"}, 200, ""},
		{"IPv6 loopback host", "GET", "/healthz", map[string]string{"Host": "[::1]:9955"}, 200, ""},
		{"docker host name", "GET", "/healthz", map[string]string{"Host": "host.docker.internal:9955"}, 200, ""},
		{"podman host name", "GET", "/healthz", map[string]string{"Host": "host.containers.internal:9955"}, 200, ""},
		{"container default profile", "GET", "/v1/credentials", auth, 200, "ASIADEVEXAMPLE"},
		{"IMDS credentials", "GET", "/latest/meta-data/iam/security-credentials/dev", withTok(nil), 200, "ASIADEVEXAMPLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, tc.method, tc.path, tc.hdr)
			if rec.Code != tc.code {
				t.Errorf("%s %s: status %d, want %d (body %q)", tc.method, tc.path, rec.Code, tc.code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.bodyHas) {
				t.Errorf("body %q does not contain %q", rec.Body, tc.bodyHas)
			}
			if tc.code >= 400 && strings.Contains(rec.Body.String(), devCreds.SecretAccessKey) {
				t.Errorf("error body leaks the secret")
			}
		})
	}
}

func TestTokenResponseEchoesTTL(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	rec := do(h, http.MethodPut, "/latest/api/token", map[string]string{ttlHeader: "21600"})
	if rec.Code != 200 || rec.Header().Get(ttlHeader) != "21600" {
		t.Fatalf("status %d, TTL header %q", rec.Code, rec.Header().Get(ttlHeader))
	}
	if len(rec.Body.String()) < 40 || strings.ContainsAny(rec.Body.String(), "\n ") {
		t.Errorf("token %q is not a bare random string", rec.Body)
	}
}

func TestTokenExpiresByClock(t *testing.T) {
	h, clk := newTestHandler(t, nil)
	rec := do(h, http.MethodPut, "/latest/api/token", map[string]string{ttlHeader: "60"})
	tok := rec.Body.String()
	get := func() int {
		return do(h, "GET", "/latest/meta-data/iam/security-credentials/", map[string]string{tokenHeader: tok}).Code
	}
	if c := get(); c != 200 {
		t.Fatalf("fresh token: %d", c)
	}
	clk.Advance(59 * time.Second)
	if c := get(); c != 200 {
		t.Fatalf("token at 59s: %d", c)
	}
	clk.Advance(time.Second)
	if c := get(); c != 401 {
		t.Fatalf("token at 60s: %d, want 401", c)
	}
}

func TestTokenTableIsBounded(t *testing.T) {
	h, clk := newTestHandler(t, func(o *Options) { o.MaxTokens = 3 })
	var toks []string
	for range 5 {
		toks = append(toks, token(t, h))
		clk.Advance(time.Second)
	}
	if n := h.tokens.len(); n != 3 {
		t.Errorf("%d tokens outstanding, want the cap of 3", n)
	}
	valid := func(tok string) bool {
		return do(h, "GET", "/latest/meta-data/iam/security-credentials/", map[string]string{tokenHeader: tok}).Code == 200
	}
	if valid(toks[0]) || valid(toks[1]) {
		t.Errorf("the oldest tokens should have been evicted")
	}
	if !valid(toks[4]) {
		t.Errorf("the newest token should be valid")
	}
	// Expired tokens are dropped first when the table is full.
	clk.Advance(time.Hour)
	token(t, h)
	if n := h.tokens.len(); n != 1 {
		t.Errorf("%d tokens after expiry, want 1", n)
	}
}

func TestAllowV1(t *testing.T) {
	h, _ := newTestHandler(t, func(o *Options) { o.AllowV1 = true })
	if rec := do(h, "GET", "/latest/meta-data/iam/security-credentials/dev", nil); rec.Code != 200 {
		t.Errorf("IMDSv1 GET with allow_v1: %d", rec.Code)
	}
}

func TestListingHasNoTrailingNewline(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	tok := token(t, h)
	for _, p := range []string{"/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials-extended/"} {
		rec := do(h, "GET", p, map[string]string{tokenHeader: tok})
		if rec.Body.String() != "dev" {
			t.Errorf("%s = %q, want exactly %q", p, rec.Body, "dev")
		}
	}
}

func TestSlowProviderAnswers503WithinWait(t *testing.T) {
	h, _ := newTestHandler(t, func(o *Options) {
		o.Wait = 10 * time.Millisecond
		o.Provider = providerFunc(func(ctx context.Context, _ string) (cred.Credentials, error) {
			<-ctx.Done()
			return cred.Credentials{}, fmt.Errorf("still fetching: %w", ctx.Err())
		})
	})
	rec := do(h, "GET", "/v1/credentials", map[string]string{"Authorization": clientToken})
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "still fetching") {
		t.Errorf("got %d %q, want 503 saying why", rec.Code, rec.Body)
	}
}

type providerFunc func(context.Context, string) (cred.Credentials, error)

func (f providerFunc) Current(ctx context.Context, p string) (cred.Credentials, error) {
	return f(ctx, p)
}

// TestGolden pins every document's exact bytes; the SDK tests in e2e/
// prove that real clients accept them.
func TestGolden(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	tok := token(t, h)
	imdsHdr := map[string]string{tokenHeader: tok}
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
	}{
		{"imds-credentials", "/latest/meta-data/iam/security-credentials/dev", imdsHdr},
		{"imds-credentials-extended", "/latest/meta-data/iam/security-credentials-extended/dev", imdsHdr},
		{"imds-info", "/latest/meta-data/iam/info", imdsHdr},
		{"imds-region", "/latest/meta-data/placement/region", imdsHdr},
		{"imds-availability-zone", "/latest/meta-data/placement/availability-zone", imdsHdr},
		{"imds-identity-document", "/latest/dynamic/instance-identity/document", imdsHdr},
		{"container-credentials", "/v1/credentials/dev", map[string]string{"Authorization": clientToken}},
		{"container-unauthorized", "/v1/credentials/dev", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, "GET", tc.path, tc.hdr)
			got := fmt.Sprintf("%d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./imds -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestMetricsObserveEveryRequest(t *testing.T) {
	m := &recordingMetrics{}
	h, _ := newTestHandler(t, func(o *Options) { o.Metrics = m })
	do(h, "GET", "/v1/credentials/dev", map[string]string{"Authorization": clientToken})
	do(h, "GET", "/v1/credentials/nope", map[string]string{"Authorization": clientToken})
	do(h, "GET", "/healthz", map[string]string{"Origin": "http://x"})
	want := []string{"container dev 200", "container  404", "refused  403"}
	if strings.Join(m.seen, "|") != strings.Join(want, "|") {
		t.Errorf("observed %q, want %q", m.seen, want)
	}
}

type recordingMetrics struct{ seen []string }

func (m *recordingMetrics) ObserveRequest(endpoint, profile string, status int, _ time.Duration) {
	m.seen = append(m.seen, fmt.Sprintf("%s %s %d", endpoint, profile, status))
}
