package control

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

// namedBackend serves credentials for exactly the profile names it holds
// and records what the server asked for, so a test sees the name the
// backend received, not only that something answered.
type namedBackend struct {
	fakeBackend
	mu    sync.Mutex
	names map[string]cred.Credentials
	asked []string
}

func (n *namedBackend) Credentials(_ context.Context, req CredentialsRequest) (cred.Credentials, error) {
	p := req.Profile
	n.mu.Lock()
	n.asked = append(n.asked, p)
	n.mu.Unlock()
	if c, ok := n.names[p]; ok {
		return c, nil
	}
	return cred.Credentials{}, cred.ErrUnknownProfile
}

func (n *namedBackend) lastAsked(t *testing.T) string {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.asked) == 0 {
		t.Fatal("the backend was never asked for credentials")
	}
	return n.asked[len(n.asked)-1]
}

// Profile names may hold letters, digits and _ . @ / + - (config/validate.go),
// and zero-config serves ~/.aws/config names such as team/dev: the control
// API must carry every one of them to the backend unchanged.
func TestCredentialsForProfileNamesWithSpecialCharacters(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	names := []struct{ name, profile string }{
		{"slash", "team/dev"},
		{"two slashes", "org/team/dev"},
		{"plus, at, dot, underscore, dash", "a+b@c.d_e-f"},
		{"slash and plus", "ops/x+y@z.io"},
		{"plain, for contrast", "dev"},
	}
	b := &namedBackend{names: map[string]cred.Credentials{}}
	for i, tc := range names {
		b.names[tc.profile] = cred.Credentials{AccessKeyID: "ASIA" + string(rune('A'+i)), SecretAccessKey: "s", SessionToken: "t", Expires: exp}
	}
	// The real client against the real server on its Unix socket.
	c := serve(t, b)
	for _, tc := range names {
		t.Run(tc.name, func(t *testing.T) {
			cr, err := c.Credentials(t.Context(), tc.profile, ForExport)
			if err != nil {
				t.Fatalf("Credentials(%q): %v", tc.profile, err)
			}
			if got := b.lastAsked(t); got != tc.profile {
				t.Errorf("backend asked for %q, want %q", got, tc.profile)
			}
			if want := b.names[tc.profile].AccessKeyID; cr.AccessKeyID != want {
				t.Errorf("AccessKeyId = %q, want %q (another profile's credentials)", cr.AccessKeyID, want)
			}
		})
	}
	t.Run("unknown name with a slash is 404, not 405", func(t *testing.T) {
		_, err := c.Credentials(t.Context(), "team/nope", ForExport)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Code != CodeNotFound {
			t.Fatalf("err = %#v, want 404 %s", err, CodeNotFound)
		}
		if got := b.lastAsked(t); got != "team/nope" {
			t.Errorf("backend asked for %q, want team/nope", got)
		}
	})
}

// Clients other than ours (curl, an older credd CLI) may send the slash
// unescaped; the server answers both spellings the same way, and still
// refuses other methods with 405.
func TestCredentialsPathSpellings(t *testing.T) {
	b := &namedBackend{names: map[string]cred.Credentials{
		"team/dev": {AccessKeyID: "ASIATEAM", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		"a+b":      {AccessKeyID: "ASIAPLUS", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
	}}
	h := Handler(b, nil)
	for _, tc := range []struct {
		name, method, path string
		code               int
		asked              string // what the backend must have been asked; "" for nothing
	}{
		{"escaped slash", "GET", "/v1/credentials/team%2Fdev", 200, "team/dev"},
		{"raw slash", "GET", "/v1/credentials/team/dev", 200, "team/dev"},
		{"escaped plus", "GET", "/v1/credentials/a%2Bb", 200, "a+b"},
		{"raw plus", "GET", "/v1/credentials/a+b", 200, "a+b"},
		{"POST with a slash", "POST", "/v1/credentials/team/dev", 405, ""},
		{"DELETE with an escaped slash", "DELETE", "/v1/credentials/team%2Fdev", 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.mu.Lock()
			b.asked = nil
			b.mu.Unlock()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if tc.code == 405 && rec.Header().Get("Allow") != "GET" {
				t.Errorf("Allow = %q, want GET", rec.Header().Get("Allow"))
			}
			b.mu.Lock()
			asked := append([]string(nil), b.asked...)
			b.mu.Unlock()
			switch {
			case tc.asked == "" && len(asked) != 0:
				t.Errorf("backend asked for %q, want nothing", asked)
			case tc.asked != "" && (len(asked) != 1 || asked[0] != tc.asked):
				t.Errorf("backend asked for %q, want [%s]", asked, tc.asked)
			}
		})
	}
}

// The client sends a profile name as one escaped path segment, so a new
// CLI also works against a daemon that matches the name as one segment
// (credd before {profile...}) and no name can reach another route.
func TestClientEscapesProfileAsOneSegment(t *testing.T) {
	for _, tc := range []struct{ name, profile, wantPath string }{
		{"slash", "team/dev", "/v1/credentials/team%2Fdev"},
		{"plus and at", "a+b@c.d_e-f", "/v1/credentials/a+b@c.d_e-f"},
		{"plain", "dev", "/v1/credentials/dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			ln, err := Listen(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			// The pattern of a single-segment server: it must still match.
			mux := http.NewServeMux()
			mux.HandleFunc("GET /v1/credentials/{profile}", func(w http.ResponseWriter, r *http.Request) {
				got <- r.URL.EscapedPath() + " " + r.PathValue("profile")
				writeJSON(w, http.StatusOK, Credentials{AccessKeyID: "ASIAOLD"})
			})
			srv := httptest.NewUnstartedServer(mux)
			srv.Listener.Close()
			srv.Listener = ln
			srv.Start()
			t.Cleanup(srv.Close)
			cr, err := NewClient(dir).Credentials(t.Context(), tc.profile, ForExport)
			if err != nil || cr.AccessKeyID != "ASIAOLD" {
				t.Fatalf("Credentials(%q) = %+v, %v", tc.profile, cr, err)
			}
			if g, want := <-got, tc.wantPath+" "+tc.profile; g != want {
				t.Errorf("server saw %q, want %q", g, want)
			}
		})
	}
}
