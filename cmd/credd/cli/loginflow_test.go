package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

// loginBackend is a daemon's control API that records sign-in requests and
// answers them at once: a device sign-in when asked for one, else a
// browser sign-in.
type loginBackend struct {
	mu   sync.Mutex
	reqs []control.LoginRequest
}

const (
	browserURL = "http://127.0.0.1:5555/authorize?client_id=c&code_challenge=x"
	deviceURL  = "https://idp.example.com/device?user_code=WXYZ-1234"
	userCode   = "WXYZ-1234"
)

func (b *loginBackend) Login(_ context.Context, r control.LoginRequest) (control.LoginStart, error) {
	b.mu.Lock()
	b.reqs = append(b.reqs, r)
	b.mu.Unlock()
	st := control.LoginStart{ID: "f1", Session: "oidc/okta", URL: browserURL, Expires: time.Now().Add(10 * time.Minute)}
	if r.Device {
		st.URL, st.UserCode, st.Device = deviceURL, userCode, true
	}
	return st, nil
}

func (b *loginBackend) requests() []control.LoginRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]control.LoginRequest(nil), b.reqs...)
}

func (b *loginBackend) LoginStatus(_ context.Context, id string, _ time.Duration) (control.LoginState, error) {
	return control.LoginState{ID: id, Session: "oidc/okta", State: "done", Ready: []string{"app"}}, nil
}
func (b *loginBackend) CancelLogin(context.Context, string) error { return nil }
func (b *loginBackend) Status(context.Context) control.Status     { return control.Status{} }
func (b *loginBackend) Reload(context.Context) error              { return nil }
func (b *loginBackend) Logout(context.Context, control.LogoutRequest) (control.LogoutResult, error) {
	return control.LogoutResult{}, nil
}
func (b *loginBackend) Credentials(context.Context, control.CredentialsRequest) (cred.Credentials, error) {
	return cred.Credentials{}, cred.ErrUnknownProfile
}
func (b *loginBackend) Assignments(context.Context, control.AssignmentsRequest) (control.Assignments, error) {
	return control.Assignments{}, nil
}
func (b *loginBackend) Console(context.Context, control.ConsoleRequest) (control.ConsoleLink, error) {
	return control.ConsoleLink{}, cred.ErrUnknownProfile
}

// serveLoginBackend runs the control API on a state dir short enough for a
// Unix socket path, and writes a config naming it.
func serveLoginBackend(t *testing.T) (cfgPath string, b *loginBackend) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	state := filepath.Join(dir, "s")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "credd.yaml")
	cfg := "state_dir: " + state + "\nidentity_providers:\n  okta: {issuer: \"https://idp.example.com\", client_id: c}\n" +
		"profiles:\n  app: {identity_provider: okta, role_arn: \"arn:aws:iam::111122223333:role/app\"}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	b = &loginBackend{}
	serveControl(t, state, b)
	return cfgPath, b
}

// Environments with and without a desktop, on every OS: Linux looks for
// DISPLAY or WAYLAND_DISPLAY, macOS and Windows for an SSH login.
var (
	withDisplay = map[string]string{"DISPLAY": ":0"}
	overSSH     = map[string]string{"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22", "SSH_TTY": "/dev/pts/1"}
)

func TestLoginOpensTheBrowserOrPrintsTheWay(t *testing.T) {
	errNoBrowser := errors.New("no browser here")
	for _, tc := range []struct {
		name string
		env  map[string]string
		// open is the browser hook; nil leaves the CLI to find a browser
		// itself (the test's PATH holds none).
		open       func(string) error
		args       []string
		wantDevice bool   // the daemon was asked for a device sign-in
		wantOpened string // the URL handed to the browser, "" for none
		wantOut    []string
		notOut     []string
		linuxOnly  bool // the CLI looks for xdg-open itself
	}{
		{
			name: "a desktop: the browser opens", env: withDisplay, open: func(string) error { return nil },
			wantOpened: browserURL, wantOut: []string{"Opened your browser to sign in to oidc/okta", "Signed in to oidc/okta", "Ready: app"},
			notOut: []string{browserURL},
		},
		{
			name: "no display: the device flow, without asking", env: overSSH,
			wantDevice: true, wantOut: []string{deviceURL, "enter the code " + userCode, "Signed in"},
			notOut: []string{"Opened your browser", browserURL},
		},
		{
			name: "WAYLAND_DISPLAY is a display: a browser sign-in", env: map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, linuxOnly: true,
			wantOut: []string{"open this address in a browser", browserURL}, // xdg-open is not on PATH
			notOut:  []string{"enter the code"},
		},
		{
			name: "--no-browser prints the URL and opens nothing", env: withDisplay, open: func(string) error { return nil },
			args:    []string{"--no-browser"},
			wantOut: []string{"open this address in a browser on this machine", browserURL, "Signed in"},
			notOut:  []string{"Opened your browser", "enter the code"},
		},
		{
			name: "--no-browser without a display stays a browser sign-in", env: overSSH,
			args:    []string{"--no-browser"},
			wantOut: []string{"open this address in a browser", browserURL},
			notOut:  []string{"enter the code"},
		},
		{
			name: "--device with a desktop", env: withDisplay, open: func(string) error { return nil },
			args: []string{"--device"}, wantDevice: true, wantOut: []string{"enter the code " + userCode},
			notOut: []string{"Opened your browser"},
		},
		{
			name: "the browser does not start: the URL is printed", env: withDisplay, open: func(string) error { return errNoBrowser },
			wantOpened: browserURL, wantOut: []string{"open this address in a browser", browserURL},
			notOut: []string{"Opened your browser"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.linuxOnly && runtime.GOOS != "linux" {
				t.Skip("Linux finds its display in DISPLAY and WAYLAND_DISPLAY")
			}
			// No xdg-open or open(1) to find: a mutation that opens a
			// browser must not start one on the machine running the tests.
			t.Setenv("PATH", t.TempDir())
			cfgPath, b := serveLoginBackend(t)
			var opened []string
			io := IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{},
				Getenv:  func(k string) string { return tc.env[k] },
				Environ: func() []string { return nil },
			}
			if tc.open != nil {
				io.OpenURL = func(u string) error { opened = append(opened, u); return tc.open(u) }
			}
			code := Run(t.Context(), append([]string{"--config", cfgPath, "login", "--provider", "okta"}, tc.args...), io)
			out := io.Out.(*bytes.Buffer).String() + io.Err.(*bytes.Buffer).String()
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			reqs := b.requests()
			if len(reqs) != 1 || reqs[0].Provider != "okta" || reqs[0].Device != tc.wantDevice {
				t.Errorf("daemon asked %+v, want one sign-in to okta with device=%v", reqs, tc.wantDevice)
			}
			switch {
			case tc.wantOpened == "" && len(opened) != 0:
				t.Errorf("opened %q, want no browser", opened)
			case tc.wantOpened != "" && (len(opened) != 1 || opened[0] != tc.wantOpened):
				t.Errorf("opened %q, want [%s]", opened, tc.wantOpened)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notOut {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}
