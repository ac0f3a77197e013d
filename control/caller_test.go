package control

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
