package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

type fakeBackend struct {
	reloadErr error
	logouts   []LogoutRequest

	mu    sync.Mutex
	creds []CredentialsRequest // as asked
}

func (f *fakeBackend) Status(context.Context) Status {
	return Status{Version: "test", PID: 42, Profiles: []ProfileStatus{{Name: "dev", Source: "aws_profile", State: "fresh"}}}
}
func (f *fakeBackend) Reload(context.Context) error { return f.reloadErr }
func (f *fakeBackend) Logout(_ context.Context, r LogoutRequest) (LogoutResult, error) {
	f.logouts = append(f.logouts, r)
	return LogoutResult{Removed: []string{"sso/corp"}}, nil
}
func (f *fakeBackend) Login(_ context.Context, r LoginRequest) (LoginStart, error) {
	return LoginStart{ID: "f1", Session: "oidc/" + r.Provider, URL: "http://127.0.0.1/authorize"}, nil
}
func (f *fakeBackend) LoginStatus(_ context.Context, id string, wait time.Duration) (LoginState, error) {
	if id != "f1" {
		return LoginState{}, &Error{Status: 404, Code: CodeNotFound, Message: "no sign-in " + id}
	}
	return LoginState{ID: id, State: "done", Ready: []string{"app"}, Error: wait.String()}, nil
}
func (f *fakeBackend) CancelLogin(context.Context, string) error { return nil }
func (f *fakeBackend) Assignments(_ context.Context, r AssignmentsRequest) (Assignments, error) {
	switch r.SSOSession {
	case "corp":
		return Assignments{SSOSession: "corp", Assignments: []Assignment{{AccountID: "111122223333", AccountName: "dev", Role: "Developer"}}}, nil
	case "expired":
		return Assignments{}, errors.Join(cred.ErrLoginRequired, errors.New("run `credd login --sso-session expired`"))
	case "down":
		return Assignments{}, errors.New("portal unreachable")
	}
	return Assignments{}, cred.Errorf(cred.ErrUnknownSession, "no such sso session")
}

func (f *fakeBackend) Console(_ context.Context, r ConsoleRequest) (ConsoleLink, error) {
	switch r.Profile {
	case "", "dev":
		if r.Destination == "ec3" {
			return ConsoleLink{}, errors.Join(cred.ErrInvalid, errors.New(`unknown destination "ec3": use one of ec2, s3`))
		}
		return ConsoleLink{URL: "https://signin.aws.amazon.com/federation?Action=login", Profile: "dev", Destination: r.Destination, Region: r.Region,
			Expires: time.Date(2030, 1, 1, 0, 15, 0, 0, time.UTC), SessionSeconds: 3600}, nil
	case "corp":
		return ConsoleLink{}, errors.Join(cred.ErrLoginRequired, errors.New("run `credd login --profile corp`"))
	case "down":
		return ConsoleLink{}, errors.New("the federation endpoint refused the sign-in")
	}
	return ConsoleLink{}, cred.ErrUnknownProfile
}
func (f *fakeBackend) Credentials(_ context.Context, req CredentialsRequest) (cred.Credentials, error) {
	f.mu.Lock()
	f.creds = append(f.creds, req)
	f.mu.Unlock()
	switch req.Profile {
	case "dev":
		return cred.Credentials{AccessKeyID: "ASIADEV", SecretAccessKey: "s", SessionToken: "t", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	case "corp":
		return cred.Credentials{}, errors.Join(cred.ErrLoginRequired, errors.New("run `credd login --profile corp`"))
	case "down":
		return cred.Credentials{}, errors.New("sts unreachable")
	case "mfa":
		return cred.Credentials{}, fmt.Errorf("%w: profile mfa: %w: run `credd login --profile mfa`", cred.ErrNotAvailable, cred.ErrMFARequired)
	}
	return cred.Credentials{}, cred.ErrUnknownProfile
}

// shortDir makes a state dir short enough for a Unix socket path (macOS
// allows about 104 bytes).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cd")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o700)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func serve(t *testing.T, b Backend) *Client {
	t.Helper()
	return serveDir(t, shortDir(t), b)
}

// serveDir serves b on the control channel of dir until the test ends.
func serveDir(t *testing.T, dir string, b Backend) *Client {
	t.Helper()
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = Serve(ctx, ln, b, nil) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return NewClient(dir)
}

func TestClientAgainstServer(t *testing.T) {
	b := &fakeBackend{}
	c := serve(t, b)
	ctx := t.Context()
	st, err := c.Status(ctx)
	if err != nil || st.PID != 42 || st.Profiles[0].Name != "dev" {
		t.Fatalf("status = %+v, %v", st, err)
	}
	cr, err := c.Credentials(ctx, "dev", ForExport)
	if err != nil || cr.AccessKeyID != "ASIADEV" || !cr.Expiration.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("credentials = %+v, %v", cr, err)
	}
	for _, tc := range []struct {
		profile, code string
		status        int
		kind          error // what errors.Is finds on the client's side
	}{
		{"nope", CodeNotFound, 404, cred.ErrUnknownProfile}, {"corp", CodeLoginRequired, 503, cred.ErrLoginRequired},
		{"down", CodeNotAvailable, 503, nil}, {"mfa", CodeLoginRequired, 503, cred.ErrMFARequired},
	} {
		_, err := c.Credentials(ctx, tc.profile, ForExport)
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
			t.Errorf("%s: err = %#v, want %s/%d", tc.profile, err, tc.code, tc.status)
		}
		checkKind(t, err, tc.kind)
	}
	if res, err := c.Logout(ctx, LogoutRequest{Session: "sso/corp"}); err != nil || res.Removed[0] != "sso/corp" || b.logouts[0].Session != "sso/corp" {
		t.Errorf("logout = %+v, %v", res, err)
	}
	ls, err := c.Login(ctx, LoginRequest{Provider: "okta"})
	if err != nil || ls.Session != "oidc/okta" {
		t.Fatalf("login = %+v, %v", ls, err)
	}
	st2, err := c.LoginStatus(ctx, ls.ID, 90*time.Second)
	if err != nil || st2.State != "done" || st2.Ready[0] != "app" || st2.Error != "30s" {
		t.Errorf("login status = %+v, %v (the wait is capped at 30s)", st2, err)
	}
	if err := c.CancelLogin(ctx, ls.ID); err != nil {
		t.Errorf("cancel: %v", err)
	}
	as, err := c.Assignments(ctx, AssignmentsRequest{SSOSession: "corp"})
	if err != nil || as.SSOSession != "corp" || len(as.Assignments) != 1 || as.Assignments[0] != (Assignment{AccountID: "111122223333", AccountName: "dev", Role: "Developer"}) {
		t.Errorf("assignments = %+v, %v", as, err)
	}
	for _, tc := range []struct {
		session, code string
		status        int
		kind          error
	}{
		{"nope", CodeNotFound, 404, cred.ErrUnknownSession}, {"expired", CodeLoginRequired, 503, cred.ErrLoginRequired}, {"down", CodeNotAvailable, 502, nil},
	} {
		_, err := c.Assignments(ctx, AssignmentsRequest{SSOSession: tc.session})
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
			t.Errorf("assignments of %s: err = %#v, want %s/%d", tc.session, err, tc.code, tc.status)
		}
		checkKind(t, err, tc.kind)
	}
	link, err := c.Console(ctx, ConsoleRequest{Profile: "dev", Destination: "s3", Region: "eu-west-1"})
	if err != nil || link.URL == "" || link.Destination != "s3" || link.Region != "eu-west-1" || link.SessionSeconds != 3600 || !link.Expires.Equal(time.Date(2030, 1, 1, 0, 15, 0, 0, time.UTC)) {
		t.Errorf("console = %+v, %v", link, err)
	}
	for _, tc := range []struct {
		req    ConsoleRequest
		code   string
		status int
		kind   error
	}{
		{ConsoleRequest{Profile: "nope"}, CodeNotFound, 404, cred.ErrUnknownProfile},
		{ConsoleRequest{Profile: "corp"}, CodeLoginRequired, 503, cred.ErrLoginRequired},
		{ConsoleRequest{Profile: "down"}, CodeNotAvailable, 503, nil},
		{ConsoleRequest{Profile: "dev", Destination: "ec3"}, CodeBadRequest, 400, cred.ErrInvalid},
	} {
		_, err := c.Console(ctx, tc.req)
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
			t.Errorf("console %+v: err = %#v, want %s/%d", tc.req, err, tc.code, tc.status)
		}
		checkKind(t, err, tc.kind)
	}
	b.reloadErr = errors.New("profiles.dev.account_id: must be 12 digits")
	var e *Error
	if err := c.Reload(ctx); !errors.As(err, &e) || e.Code != CodeReloadRefused || !strings.Contains(e.Message, "account_id") {
		t.Errorf("reload err = %v", err)
	} else {
		checkKind(t, err, cred.ErrInvalid) // the user's configuration to fix
	}
}

// checkKind: err, as the client got it, is of kind (nil: of none), and of
// no other kind.
func checkKind(t *testing.T, err error, kind error) {
	t.Helper()
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("%v: errors.Is(err, %v) = false: the kind did not cross the socket", err, kind)
	}
	for _, other := range []error{cred.ErrLoginRequired, cred.ErrMFARequired, cred.ErrUnknownProfile, cred.ErrUnknownSession, cred.ErrInvalid, cred.ErrConflict} {
		if errors.Is(err, other) && (kind == nil || !errors.Is(kind, other)) {
			t.Errorf("%v: errors.Is(err, %v), want only %v", err, other, kind)
		}
	}
}

// TestErrorKindFromCode: an answer of a daemon older than the kind field
// is still told apart, by its code.
func TestErrorKindFromCode(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		kind error
	}{
		{Error{Code: CodeLoginRequired}, cred.ErrLoginRequired},
		{Error{Code: CodeNotFound}, cred.ErrUnknownProfile},
		{Error{Code: CodeBadRequest}, cred.ErrInvalid},
		{Error{Code: CodeReloadRefused}, cred.ErrInvalid},
		{Error{Code: CodeNotAvailable}, nil},
		{Error{Code: CodeNotAvailable, Kind: "mfa-required"}, cred.ErrMFARequired},
	} {
		checkKind(t, &tc.e, tc.kind)
	}
}

func TestMalformedRequestsAre400(t *testing.T) {
	h := Handler(&fakeBackend{}, nil)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
	}{
		{"not JSON", "POST", "/v1/logout", "{nope", 400},
		{"unknown field", "POST", "/v1/logout", `{"sesion":"x"}`, 400},
		{"two values", "POST", "/v1/logout", `{} {}`, 400},
		{"wrong type", "POST", "/v1/logout", `{"session":3}`, 400},
		{"body too large", "POST", "/v1/logout", `{"session":"` + strings.Repeat("x", 70<<10) + `"}`, 400},
		{"empty body is fine", "POST", "/v1/logout", ``, 200},
		{"wrong method", "GET", "/v1/reload", ``, 405},
		{"unknown path", "GET", "/v2/status", ``, 404},
		{"login with an unknown field", "POST", "/v1/login", `{"provder":"okta"}`, 400},
		{"login progress with a bad wait", "GET", "/v1/login/f1?wait=soon", ``, 400},
		{"login progress of an unknown flow", "GET", "/v1/login/nope", ``, 404},
		{"console with an unknown field", "POST", "/v1/console", `{"profle":"dev"}`, 400},
		{"console by GET", "GET", "/v1/console", ``, 405},
		{"console for the default profile", "POST", "/v1/console", ``, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.code {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if tc.code >= 400 && !strings.Contains(rec.Body.String(), `"message":`) {
				t.Errorf("error body is not {code, message}: %s", rec.Body)
			}
		})
	}
}

func TestNotRunning(t *testing.T) {
	c := NewClient(shortDir(t))
	if _, err := c.Status(t.Context()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("err = %v, want ErrNotRunning", err)
	}
}

// TestListenNeverTakesOverALiveDaemon: a second Listen on the state dir of
// a daemon that answers refuses.
func TestListenNeverTakesOverALiveDaemon(t *testing.T) {
	dir := shortDir(t)
	ln := acceptAndClose(t, dir)
	if _, err := Listen(dir); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Listen = %v, want ErrAlreadyRunning", err)
	}
	// The first one still serves.
	c, err := dial(t.Context(), SocketPath(dir))
	if err != nil {
		t.Fatalf("the first listener no longer answers: %v", err)
	}
	c.Close()
	ln.Close()
}

// acceptAndClose listens on dir's control channel and closes every
// connection it accepts, until the test ends.
func acceptAndClose(t *testing.T, dir string) net.Listener {
	t.Helper()
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln
}

func TestAwaitStatus(t *testing.T) {
	t.Run("a daemon that answers", func(t *testing.T) {
		c := serve(t, &fakeBackend{})
		if _, err := c.AwaitStatus(t.Context(), time.Hour); err != nil {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("none until the deadline: the last error", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if _, err := NewClient(shortDir(t)).AwaitStatus(ctx, 20*time.Millisecond); !errors.Is(err, ErrNotRunning) {
			t.Errorf("err = %v, want ErrNotRunning", err)
		}
	})
	t.Run("one that starts while it waits", func(t *testing.T) {
		// Under wine a client polling while the pipe is made can connect
		// to the instance go-winio creates only to hold the name, before
		// Listen takes it (takePlaceholder), and nobody ever answers it:
		// that attempt ends after statusAttempt and the next one is
		// served. Windows 10 and later keep that instance disconnected.
		dir := shortDir(t)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c := NewClient(dir)
		if _, err := c.Status(ctx); !errors.Is(err, ErrNotRunning) {
			t.Fatalf("before: %v", err)
		}
		done := make(chan error, 1)
		go func() { _, err := c.AwaitStatus(ctx, 10*time.Millisecond); done <- err }()
		serveDir(t, dir, &fakeBackend{})
		if err := <-done; err != nil {
			t.Errorf("err = %v", err)
		}
	})
}
