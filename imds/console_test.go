package imds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

// fakeConsole answers like the daemon: a link for dev, errors otherwise.
type fakeConsole struct {
	mu    sync.Mutex
	calls []string
}

const consoleURL = "https://signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Feu-west-1.console.aws.amazon.com%2Fs3%2Fhome&Issuer=credd&SigninToken=SECRET-SIGNIN-TOKEN"

func (f *fakeConsole) Link(_ context.Context, profile, destination, region string) (string, time.Time, error) {
	f.mu.Lock()
	f.calls = append(f.calls, profile+"|"+destination+"|"+region)
	f.mu.Unlock()
	switch {
	case profile == "broken":
		return "", time.Time{}, errors.New("sign-in required: run `credd login --profile broken`")
	case destination == "ec3":
		return "", time.Time{}, fmt.Errorf("%w: unknown destination \"ec3\": use one of ec2, s3", cred.ErrInvalid)
	case profile == "dev":
		return consoleURL, now.Add(15 * time.Minute), nil
	}
	return "", time.Time{}, fmt.Errorf("%w: %q", cred.ErrUnknownProfile, profile)
}

func post(h http.Handler, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Host = "127.0.0.1:9955"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestConsoleEndpoint(t *testing.T) {
	fc := &fakeConsole{}
	var logs bytes.Buffer
	h, _ := newTestHandler(t, func(o *Options) {
		o.Console = fc
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	auth := map[string]string{"Authorization": clientToken}
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		code                     int
		bodyHas                  string
		call                     string // what the Console was asked, "" for nothing
	}{
		{"without the client token", "POST", "/v1/console/dev", "", nil, 401, `"code":"Unauthorized"`, ""},
		{"with a wrong token", "POST", "/v1/console/dev", "", map[string]string{"Authorization": clientToken + "x"}, 401, "", ""},
		{"by GET", "GET", "/v1/console/dev", "", auth, 405, "use POST", ""},
		{"by GET without a token", "GET", "/v1/console", "", nil, 405, "", ""},
		{"from a web page", "POST", "/v1/console/dev", "", map[string]string{"Authorization": clientToken, "Origin": "https://evil.example"}, 403, "Origin", ""},
		{"malformed body", "POST", "/v1/console/dev", `{"destination":`, auth, 400, "the body must be empty or", ""},
		{"unknown field", "POST", "/v1/console/dev", `{"dest":"s3"}`, auth, 400, "unknown field", ""},
		{"unknown profile", "POST", "/v1/console/nope", "", auth, 404, `unknown profile \"nope\"`, "nope||"},
		{"unknown destination", "POST", "/v1/console/dev", `{"destination":"ec3"}`, auth, 400, "use one of ec2, s3", "dev|ec3|"},
		{"not ready", "POST", "/v1/console/broken", "", auth, 503, "credd login --profile broken", "broken||"},
		{"default profile, no body", "POST", "/v1/console", "", auth, 200, "SECRET-SIGNIN-TOKEN", "dev||"},
		{"destination and region", "POST", "/v1/console/dev", `{"destination":"s3","region":"eu-west-1"}`, auth, 200, `"expires":"2026-11-22T10:15:00Z"`, "dev|s3|eu-west-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc.calls = nil
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Host = "127.0.0.1:9955"
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.bodyHas) {
				t.Errorf("body %s does not contain %q", rec.Body, tc.bodyHas)
			}
			if tc.code == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
			got := strings.Join(fc.calls, ",")
			if got != tc.call {
				t.Errorf("console asked %q, want %q", got, tc.call)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
			}
		})
	}
	if strings.Contains(logs.String(), "SECRET-SIGNIN-TOKEN") || strings.Contains(logs.String(), "federation?") {
		t.Errorf("the link reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "console link not available") {
		t.Errorf("a failure is not logged:\n%s", logs.String())
	}
}

func TestConsoleGolden(t *testing.T) {
	h, _ := newTestHandler(t, func(o *Options) { o.Console = &fakeConsole{} })
	rec := post(h, "/v1/console/dev", `{"destination":"s3"}`, map[string]string{"Authorization": clientToken})
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d\n", rec.Code)
	for _, k := range []string{"Content-Type", "Cache-Control", "Content-Length"} {
		fmt.Fprintf(&b, "%s: %s\n", k, rec.Header().Get(k))
	}
	b.WriteString("\n" + rec.Body.String())
	path := filepath.Join("testdata", "console-link.golden")
	if *update {
		os.WriteFile(path, []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestConsoleNotConfigured(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	if rec := post(h, "/v1/console/dev", "", map[string]string{"Authorization": clientToken}); rec.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404 without a Console", rec.Code)
	}
}
