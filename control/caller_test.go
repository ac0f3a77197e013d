package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/peer"
)

// TestCredentialsNameTheirCaller: a credentials request over the control
// channel carries who connected, as the OS says (here this test process:
// its user, PID and executable), the channel, and the command the client
// named; a request that says nothing is an export; an unknown command is
// refused, never written to the audit log.
func TestCredentialsNameTheirCaller(t *testing.T) {
	b := &fakeBackend{}
	dir := shortDir(t)
	c := serveDir(t, dir, b)
	self, err := peer.Self()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, command, want string }{
		{"export", ForExport, ForExport},
		{"credential_process", ForCredentialProcess, ForCredentialProcess},
		{"unsaid", "", ForExport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Credentials(t.Context(), "dev", tc.command); err != nil {
				t.Fatal(err)
			}
			b.mu.Lock()
			req := b.creds[len(b.creds)-1]
			b.mu.Unlock()
			cl := req.Caller
			if req.Profile != "dev" || req.For != tc.want {
				t.Errorf("request %q for %q, want dev for %q", req.Profile, req.For, tc.want)
			}
			if cl.Err != nil || cl.User != self || cl.Process.PID != os.Getpid() || !sameExe(cl.Process.Exe, exe) || cl.Channel != SocketPath(dir) {
				t.Errorf("caller %+v, want user %s, pid %d, exe %s on %s", cl, self, os.Getpid(), exe, SocketPath(dir))
			}
		})
	}
	b.mu.Lock()
	asked := len(b.creds)
	b.mu.Unlock()
	_, err = c.Credentials(t.Context(), "dev", "imds")
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !errors.Is(err, cred.ErrInvalid) {
		t.Errorf("for=imds: %v, want 400", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.creds) != asked {
		t.Errorf("for=imds reached the backend: %+v", b.creds[asked:])
	}
}

// TestCallerOutsideServe: the handler on its own (no control channel) says
// that it cannot name the caller, rather than naming a wrong one.
func TestCallerOutsideServe(t *testing.T) {
	b := &fakeBackend{}
	srv := httptest.NewServer(Handler(b, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/credentials/dev?for=credential_process")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.creds) != 1 || b.creds[0].Caller.Err == nil || b.creds[0].Caller.Process.PID != 0 || b.creds[0].Caller.User != "" {
		t.Errorf("caller %+v, want none and an error", b.creds)
	}
}

func sameExe(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(a, b)
	}
	return strings.EqualFold(ra, rb)
}

// gatedBackend is fakeBackend behind a Gate that refuses user refuse.
type gatedBackend struct {
	*fakeBackend
	refuse string

	mu    sync.Mutex
	asked []AdmitRequest
	procs []peer.Process
}

func (g *gatedBackend) Admit(_ context.Context, req AdmitRequest) error {
	proc, _ := req.Describe()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked, g.procs = append(g.asked, req), append(g.procs, proc)
	if req.Caller.Err != nil || req.Caller.User == g.refuse {
		return fmt.Errorf("user %s may not use this credd", req.Caller.User)
	}
	return nil
}

// TestGateDecidesEveryRequest: a Backend that is a Gate is asked before
// every request, with the caller as the kernel names it (this process: its
// user and PID, its executable when described) and the request's audit
// endpoint; a refused request is answered 403 Forbidden with the gate's
// message and never reaches the backend.
func TestGateDecidesEveryRequest(t *testing.T) {
	self, err := peer.Self()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		refuse   string
		call     func(c *Client) error
		path     string
		endpoint string
	}{
		{"status", "", func(c *Client) error { _, err := c.Status(t.Context()); return err }, "/v1/status", "control"},
		{"export", "", func(c *Client) error { _, err := c.Credentials(t.Context(), "dev", ForExport); return err }, "/v1/credentials/dev", ForExport},
		{"credential_process", "", func(c *Client) error {
			_, err := c.Credentials(t.Context(), "dev", ForCredentialProcess)
			return err
		}, "/v1/credentials/dev", ForCredentialProcess},
		{"console", "", func(c *Client) error { _, err := c.Console(t.Context(), ConsoleRequest{Profile: "dev"}); return err }, "/v1/console", "console"},
		{"status refused", self, func(c *Client) error { _, err := c.Status(t.Context()); return err }, "/v1/status", "control"},
		{"export refused", self, func(c *Client) error { _, err := c.Credentials(t.Context(), "dev", ForExport); return err }, "/v1/credentials/dev", ForExport},
		{"reload refused", self, func(c *Client) error { return c.Reload(t.Context()) }, "/v1/reload", "control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &gatedBackend{fakeBackend: &fakeBackend{}, refuse: tc.refuse}
			err := tc.call(serve(t, b))
			b.mu.Lock()
			defer b.mu.Unlock()
			if len(b.asked) != 1 {
				t.Fatalf("the gate was asked %d times, want once", len(b.asked))
			}
			req, proc := b.asked[0], b.procs[0]
			if req.Path != tc.path || req.Endpoint() != tc.endpoint {
				t.Errorf("gate saw %s (endpoint %s), want %s (%s)", req.Path, req.Endpoint(), tc.path, tc.endpoint)
			}
			if c := req.Caller; c.Err != nil || c.User != self || c.Process.PID != os.Getpid() || c.Process.Exe != "" {
				t.Errorf("caller at the gate %+v, want user %s, pid %d, not yet described", c, self, os.Getpid())
			}
			if proc.PID != os.Getpid() || !sameExe(proc.Exe, exe) {
				t.Errorf("described %+v, want pid %d exe %s", proc, os.Getpid(), exe)
			}
			b.fakeBackend.mu.Lock()
			reached := len(b.fakeBackend.creds)
			b.fakeBackend.mu.Unlock()
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("admitted request failed: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Code != CodeForbidden || !strings.Contains(e.Message, "user "+self+" may not use this credd") {
				t.Errorf("refused request: %v (%+v), want 403 Forbidden with the gate's message", err, e)
			}
			if reached != 0 {
				t.Errorf("a refused request reached the backend")
			}
		})
	}
}

// TestGateWithoutTheChannel: a gate behind a handler the control channel
// does not serve (no kernel record of the caller) is told so, and refuses.
func TestGateWithoutTheChannel(t *testing.T) {
	b := &gatedBackend{fakeBackend: &fakeBackend{}}
	srv := httptest.NewServer(Handler(b, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	if resp.StatusCode != http.StatusForbidden || len(b.asked) != 1 || !errors.Is(b.asked[0].Caller.Err, errNotServed) {
		t.Errorf("status %d, gate asked %+v; want 403 and errNotServed", resp.StatusCode, b.asked)
	}
}

// TestStatusNamesItsCaller: a status answer says who asked, as the
// daemon's OS names the connection (this process), for credd doctor.
func TestStatusNamesItsCaller(t *testing.T) {
	self, err := peer.Self()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	st, err := serve(t, &fakeBackend{}).Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Caller; c == nil || c.Error != "" || c.User != self || c.PID != os.Getpid() || !sameExe(c.Exe, exe) {
		t.Errorf("caller %+v, want user %s, pid %d, exe %s", st.Caller, self, os.Getpid(), exe)
	}
}
