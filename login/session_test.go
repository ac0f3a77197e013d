package login_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	sessionName = "oidc/okta"
	hint        = "credd login --provider okta"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fakeMethod is a Method the test scripts. It counts calls and records
// what the session passed it.
type fakeMethod struct {
	refresh     func(ctx context.Context, old login.Tokens) (login.Tokens, error)
	exchange    func(ctx context.Context, code string) (login.Tokens, error)
	deviceStart login.DeviceStart
	startErr    error
	poll        func(ctx context.Context) (login.Tokens, error)

	mu        sync.Mutex
	refreshes int
	authURLs  int
	starts    int
	refreshed []login.Tokens // what Refresh was given
	redirect  string         // of the last AuthCodeURL
	state     string
	codes     []string // exchanged
}

var _ login.Method = (*fakeMethod)(nil)

func (m *fakeMethod) Kind() string { return "oidc" }

func (m *fakeMethod) AuthCodeURL(_ context.Context, redirect, state string) (string, func(context.Context, string) (login.Tokens, error), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.authURLs++
	m.redirect, m.state = redirect, state
	return "https://idp.example/authorize?state=" + url.QueryEscape(state), func(ctx context.Context, code string) (login.Tokens, error) {
		m.mu.Lock()
		m.codes = append(m.codes, code)
		m.mu.Unlock()
		if m.exchange == nil {
			return tokens("signed-in", t0.Add(time.Hour)), nil
		}
		return m.exchange(ctx, code)
	}, nil
}

func (m *fakeMethod) StartDevice(context.Context) (login.DeviceStart, func(context.Context) (login.Tokens, error), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.starts++
	if m.startErr != nil {
		return login.DeviceStart{}, nil, m.startErr
	}
	poll := m.poll
	if poll == nil {
		poll = func(ctx context.Context) (login.Tokens, error) {
			<-ctx.Done() // the user never approves
			return login.Tokens{}, ctx.Err()
		}
	}
	return m.deviceStart, poll, nil
}

func (m *fakeMethod) Refresh(ctx context.Context, old login.Tokens) (login.Tokens, error) {
	m.mu.Lock()
	m.refreshes++
	m.refreshed = append(m.refreshed, old)
	m.mu.Unlock()
	if m.refresh == nil {
		return login.Tokens{}, errors.New("fakeMethod: unexpected Refresh")
	}
	return m.refresh(ctx, old)
}

func (m *fakeMethod) calls() (refreshes, authURLs, starts int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refreshes, m.authURLs, m.starts
}

func (m *fakeMethod) exchanged() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.codes)
}

func (m *fakeMethod) callback() (redirect, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.redirect, m.state
}

// tokens makes tokens whose every secret is tagged with name.
func tokens(name string, expiry time.Time) login.Tokens {
	return login.Tokens{
		AccessToken:  "access-" + name,
		IDToken:      "id-" + name,
		RefreshToken: "refresh-" + name,
		Expiry:       expiry,
	}
}

func refreshTo(t login.Tokens, err error) func(context.Context, login.Tokens) (login.Tokens, error) {
	return func(context.Context, login.Tokens) (login.Tokens, error) { return t, err }
}

// syncBuffer is a log sink safe for the flow goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// harness is a Session under test and everything around it.
type harness struct {
	s     *login.Session
	m     *fakeMethod
	clock *clock.Fake
	store *store.Memory
	logs  *syncBuffer
	wg    *sync.WaitGroup // owns the flows

	mu      sync.Mutex
	changes []error // NeedsLogin at each OnChange
}

// newHarness makes a session on a fake clock at t0, a memory store holding
// stored (if not nil) and a captured log. edit adjusts the options.
func newHarness(t *testing.T, m *fakeMethod, stored *login.Tokens, edit func(*login.Options)) *harness {
	t.Helper()
	h := &harness{m: m, clock: clock.NewFake(t0), store: store.NewMemory(), logs: &syncBuffer{}, wg: &sync.WaitGroup{}}
	if stored != nil {
		seed(t, h.store, sessionName, "oidc", *stored)
	}
	o := login.Options{
		Store:      h.store,
		Clock:      h.clock,
		Logger:     slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RenewAhead: 5 * time.Minute,
		LoginHint:  hint,
		OnChange: func(s *login.Session) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.changes = append(h.changes, s.NeedsLogin())
		},
	}
	if edit != nil {
		edit(&o)
	}
	h.s = login.New(t.Context(), sessionName, m, o)
	// t.Context is cancelled before cleanups run: every flow ends, and
	// the goroutines Begin started must be gone when the test is.
	t.Cleanup(h.wg.Wait)
	return h
}

// seed writes tokens to st the way the daemon's store holds a session.
func seed(t *testing.T, st login.Store, key, kind string, tok login.Tokens) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"kind": kind, "expires_at": tok.Expiry, "tokens": tok})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(t.Context(), key, raw); err != nil {
		t.Fatal(err)
	}
}

// onChanges returns NeedsLogin as seen by each OnChange call so far.
func (h *harness) onChanges() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.changes...)
}

func (h *harness) begin(t *testing.T, device bool) *login.Flow {
	t.Helper()
	f, err := h.s.Begin(t.Context(), h.wg, login.FlowOptions{Device: device})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return f
}

// wait waits for a flow's end. The bound only turns a hang into a failure
// (a minute, for a loaded machine).
func wait(t *testing.T, f *login.Flow) error {
	t.Helper()
	select {
	case <-f.Done():
		return f.Err()
	case <-time.After(time.Minute):
		t.Fatalf("flow %s did not end", f.ID)
		return nil
	}
}

// TestSessionErrorsMakeProfilesLoginRequired: a profile whose source asks
// a session that needs a sign-in shows login-required, with the command
// to run: the session's errors are of the kind the refresher reports.
func TestSessionErrorsMakeProfilesLoginRequired(t *testing.T) {
	s := login.New(t.Context(), sessionName, &fakeMethod{}, login.Options{Clock: clock.NewFake(t0), LoginHint: hint})
	r := refresh.New("app", refresh.SourceFunc(func(ctx context.Context) (cred.Credentials, error) {
		_, err := s.Tokens(ctx)
		return cred.Credentials{}, err
	}), refresh.Options{Policy: refresh.DefaultPolicy(), Clock: clock.NewFake(t0)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if _, err := r.Current(t.Context()); !errors.Is(err, cred.ErrLoginRequired) || !strings.Contains(err.Error(), hint) {
		t.Errorf("Current = %v, want a sign-in-required error naming %q", err, hint)
	}
	if st := r.Status(); st.State != refresh.StateLoginRequired {
		t.Errorf("state = %s, want %s", st.State, refresh.StateLoginRequired)
	}
}

func TestTokens(t *testing.T) {
	transient := errors.New("connection reset by peer")
	refused := fmt.Errorf("%w: okta refused the refresh token (invalid_grant)", cred.ErrLoginRequired)
	noRefresh := func(tok login.Tokens) *login.Tokens { tok.RefreshToken = ""; return &tok }
	ptr := func(tok login.Tokens) *login.Tokens { return &tok }
	for _, tc := range []struct {
		name      string
		stored    *login.Tokens
		refresh   func(context.Context, login.Tokens) (login.Tokens, error)
		want      string // access token served; "" for an error
		wantErr   error  // errors.Is
		refreshes int
		needs     bool // NeedsLogin after the call
	}{
		{name: "valid: served without renewal", stored: ptr(tokens("old", t0.Add(time.Hour))),
			want: "access-old"},
		{name: "within RenewAhead: renewed", stored: ptr(tokens("old", t0.Add(2*time.Minute))),
			refresh: refreshTo(tokens("new", t0.Add(time.Hour)), nil), want: "access-new", refreshes: 1},
		{name: "renewed tokens living less than RenewAhead: served after one renewal", stored: ptr(tokens("old", t0.Add(time.Minute))),
			refresh: refreshTo(tokens("short", t0.Add(3*time.Minute)), nil), want: "access-short", refreshes: 1},
		{name: "expired with a refresh token: renewed", stored: ptr(tokens("old", t0.Add(-time.Hour))),
			refresh: refreshTo(tokens("new", t0.Add(time.Hour)), nil), want: "access-new", refreshes: 1},
		{name: "transient failure while valid: old tokens served", stored: ptr(tokens("old", t0.Add(2*time.Minute))),
			refresh: refreshTo(login.Tokens{}, transient), want: "access-old", refreshes: 1},
		{name: "transient failure after expiry: the error, no sign-in demanded", stored: ptr(tokens("old", t0.Add(-time.Minute))),
			refresh: refreshTo(login.Tokens{}, transient), wantErr: transient, refreshes: 1},
		{name: "refused while valid: login required, the old tokens no longer handed out", stored: ptr(tokens("old", t0.Add(2*time.Minute))),
			refresh: refreshTo(login.Tokens{}, refused), wantErr: cred.ErrLoginRequired, refreshes: 1, needs: true},
		{name: "refused after expiry: login required", stored: ptr(tokens("old", t0.Add(-time.Minute))),
			refresh: refreshTo(login.Tokens{}, refused), wantErr: cred.ErrLoginRequired, refreshes: 1, needs: true},
		{name: "no refresh token, valid within RenewAhead: served", stored: noRefresh(tokens("old", t0.Add(2*time.Minute))),
			want: "access-old"},
		{name: "no refresh token, expired: login required", stored: noRefresh(tokens("old", t0.Add(-time.Minute))),
			wantErr: cred.ErrLoginRequired, needs: true},
		{name: "never signed in: login required",
			wantErr: cred.ErrLoginRequired, needs: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeMethod{refresh: tc.refresh}
			h := newHarness(t, m, tc.stored, nil)
			got, err := h.s.Tokens(t.Context())
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Tokens error = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Tokens: %v", err)
			case got.AccessToken != tc.want:
				t.Errorf("Tokens served %q, want %q", got.AccessToken, tc.want)
			}
			if errors.Is(err, cred.ErrLoginRequired) && !strings.Contains(err.Error(), hint) {
				t.Errorf("error %q does not name the sign-in command %q", err, hint)
			}
			if n, _, _ := m.calls(); n != tc.refreshes {
				t.Errorf("Refresh called %d times, want %d", n, tc.refreshes)
			}
			need := h.s.NeedsLogin()
			if (need != nil) != tc.needs {
				t.Fatalf("NeedsLogin = %v, want needed=%v", need, tc.needs)
			}
			if need != nil && (!errors.Is(need, cred.ErrLoginRequired) || !strings.Contains(need.Error(), hint)) {
				t.Errorf("NeedsLogin = %q, want cred.ErrLoginRequired naming %q", need, hint)
			}
		})
	}
}

func TestRenewalKeepsUnrotatedRefreshToken(t *testing.T) {
	renewed := tokens("new", t0.Add(time.Hour))
	renewed.RefreshToken = "" // the provider did not rotate it
	m := &fakeMethod{refresh: refreshTo(renewed, nil)}
	old := tokens("old", t0.Add(time.Minute))
	old.RefreshExpiry = t0.Add(24 * time.Hour)
	h := newHarness(t, m, &old, nil)

	got, err := h.s.Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "access-new" || got.RefreshToken != "refresh-old" {
		t.Errorf("renewed tokens = access %q refresh %q, want access-new and the old refresh token", got.AccessToken, got.RefreshToken)
	}
	if m.refreshed[0].RefreshToken != "refresh-old" {
		t.Errorf("Refresh was given refresh token %q, want refresh-old", m.refreshed[0].RefreshToken)
	}
	if !h.s.Expiry().Equal(old.RefreshExpiry) {
		t.Errorf("Expiry = %v, want the refresh token's end %v", h.s.Expiry(), old.RefreshExpiry)
	}
	// Fresh now: the next caller is served without another renewal.
	if _, err := h.s.Tokens(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := m.calls(); n != 1 {
		t.Errorf("Refresh called %d times, want 1", n)
	}
}

// TestTokensSharesOneRenewal: however many callers need a renewal at once,
// one Refresh runs and all of them get its outcome.
func TestTokensSharesOneRenewal(t *testing.T) {
	const callers = 100
	for _, tc := range []struct {
		name   string
		result login.Tokens
		err    error
		want   string
		needs  bool
	}{
		{name: "renewed", result: tokens("new", t0.Add(time.Hour)), want: "access-new"},
		{name: "transient failure: old tokens", err: errors.New("503 Service Unavailable"), want: "access-old"},
		{name: "refused: login required for every caller", err: fmt.Errorf("%w: revoked", cred.ErrLoginRequired), needs: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				m := &fakeMethod{refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
					<-release
					return tc.result, tc.err
				}}
				old := tokens("old", t0.Add(time.Minute))
				h := newHarness(t, m, &old, nil)

				var wg sync.WaitGroup
				got := make([]string, callers)
				errs := make([]error, callers)
				for i := range callers {
					wg.Go(func() {
						tok, err := h.s.Tokens(t.Context())
						got[i], errs[i] = tok.AccessToken, err
					})
				}
				synctest.Wait() // one caller is in Refresh, the others wait for it
				close(release)
				wg.Wait()

				if n, _, _ := m.calls(); n != 1 {
					t.Errorf("Refresh called %d times for %d concurrent callers, want 1", n, callers)
				}
				for i := range callers {
					if got[i] != tc.want || (errs[i] == nil) != (tc.want != "") || tc.needs && !errors.Is(errs[i], cred.ErrLoginRequired) {
						t.Fatalf("caller %d got %q, %v; want %q", i, got[i], errs[i], tc.want)
					}
				}
				if need := h.s.NeedsLogin(); (need != nil) != tc.needs {
					t.Errorf("NeedsLogin = %v, want needed=%v", need, tc.needs)
				}
			})
		})
	}
}

// TestTokensWaiterGivesUp: a caller waiting for someone else's renewal
// stops when its own context ends.
func TestTokensWaiterGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := &fakeMethod{refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
			<-release
			return tokens("new", t0.Add(time.Hour)), nil
		}}
		old := tokens("old", t0.Add(time.Minute))
		h := newHarness(t, m, &old, nil)
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = h.s.Tokens(t.Context()) })
		synctest.Wait()

		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		wg.Go(func() {
			_, err := h.s.Tokens(ctx)
			errc <- err
		})
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("waiter's error = %v, want context.Canceled", err)
			}
		default:
			t.Error("the waiter still waits after its context ended")
		}
		close(release)
		wg.Wait()
	})
}

func TestRestartWithoutSignIn(t *testing.T) {
	signedIn := tokens("first", t0.Add(time.Hour))
	signedIn.RefreshExpiry = t0.Add(8 * time.Hour)
	signedIn.Extra = map[string]string{"client_id": "registered-client"}
	m := &fakeMethod{deviceStart: login.DeviceStart{UserCode: "ABCD-EFGH", VerificationURI: "https://idp.example/device"},
		poll: func(context.Context) (login.Tokens, error) { return signedIn, nil }}
	h := newHarness(t, m, nil, nil)
	if err := wait(t, h.begin(t, true)); err != nil {
		t.Fatalf("sign-in: %v", err)
	}

	raw, err := h.store.Get(t.Context(), sessionName)
	if err != nil {
		t.Fatalf("the sign-in was not stored: %v", err)
	}
	golden(t, "stored-session.json", raw)

	// The daemon restarts: a new session on the same store is signed in,
	// with no call to the provider.
	m2 := &fakeMethod{}
	after := login.New(t.Context(), sessionName, m2, login.Options{Store: h.store, Clock: h.clock, LoginHint: hint})
	got, err := after.Tokens(t.Context())
	if err != nil {
		t.Fatalf("Tokens after restart: %v", err)
	}
	if got.AccessToken != signedIn.AccessToken || got.RefreshToken != signedIn.RefreshToken || got.Extra["client_id"] != "registered-client" || !got.Expiry.Equal(signedIn.Expiry) {
		t.Errorf("after restart got %+v (access %q), want the stored sign-in", got, got.AccessToken)
	}
	if err := after.NeedsLogin(); err != nil {
		t.Errorf("NeedsLogin after restart = %v", err)
	}
	if !after.Expiry().Equal(signedIn.RefreshExpiry) {
		t.Errorf("Expiry = %v, want %v", after.Expiry(), signedIn.RefreshExpiry)
	}
	if r, a, s := m2.calls(); r+a+s != 0 {
		t.Errorf("restart called the provider: %d refreshes, %d browser, %d device sign-ins", r, a, s)
	}
}

func TestRenewalIsStored(t *testing.T) {
	m := &fakeMethod{refresh: refreshTo(tokens("renewed", t0.Add(time.Hour)), nil)}
	old := tokens("old", t0.Add(time.Minute))
	h := newHarness(t, m, &old, nil)
	if _, err := h.s.Tokens(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := login.New(t.Context(), sessionName, &fakeMethod{}, login.Options{Store: h.store, Clock: h.clock})
	got, err := after.Tokens(t.Context())
	if err != nil || got.AccessToken != "access-renewed" {
		t.Fatalf("after restart: %q, %v; want the renewed tokens", got.AccessToken, err)
	}
}

func TestUnreadableStoredSession(t *testing.T) {
	valid := tokens("stored", t0.Add(time.Hour))
	for _, tc := range []struct {
		name string
		put  func(t *testing.T, st *store.Memory)
		warn bool
	}{
		{name: "absent: quietly signed out", put: func(*testing.T, *store.Memory) {}},
		{name: "not JSON", put: func(t *testing.T, st *store.Memory) {
			_ = st.Put(t.Context(), sessionName, []byte("{not json"))
		}, warn: true},
		{name: "a JSON array", put: func(t *testing.T, st *store.Memory) {
			_ = st.Put(t.Context(), sessionName, []byte(`[1,2,3]`))
		}, warn: true},
		{name: "a bad expiry", put: func(t *testing.T, st *store.Memory) {
			_ = st.Put(t.Context(), sessionName, []byte(`{"kind":"oidc","tokens":{"expiry":"tomorrow"}}`))
		}, warn: true},
		{name: "another kind of session", put: func(t *testing.T, st *store.Memory) {
			seed(t, st, sessionName, "sso", valid)
		}, warn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := store.NewMemory()
			tc.put(t, st)
			logs := &syncBuffer{}
			s := login.New(t.Context(), sessionName, &fakeMethod{}, login.Options{Store: st, Clock: clock.NewFake(t0), LoginHint: hint,
				Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if _, err := s.Tokens(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
				t.Errorf("Tokens = %v, want login required", err)
			}
			if err := s.NeedsLogin(); !errors.Is(err, cred.ErrLoginRequired) {
				t.Errorf("NeedsLogin = %v, want login required", err)
			}
			warned := strings.Contains(logs.String(), "stored session unreadable")
			if warned != tc.warn {
				t.Errorf("warned=%v, want %v; log:\n%s", warned, tc.warn, logs)
			}
			if warned && !strings.Contains(logs.String(), "session="+sessionName) {
				t.Errorf("the warning does not name the session: %s", logs)
			}
			if strings.Contains(logs.String(), "access-stored") {
				t.Errorf("a stored token reached the log: %s", logs)
			}
		})
	}
}

// failingStore refuses writes.
type failingStore struct{ *store.Memory }

func (failingStore) Put(context.Context, string, []byte) error { return errors.New("keyring locked") }

func TestUnsavedSignInStillWorks(t *testing.T) {
	m := &fakeMethod{poll: func(context.Context) (login.Tokens, error) { return tokens("new", t0.Add(time.Hour)), nil }}
	h := newHarness(t, m, nil, func(o *login.Options) { o.Store = failingStore{store.NewMemory()} })
	if err := wait(t, h.begin(t, true)); err != nil {
		t.Fatal(err)
	}
	if tok, err := h.s.Tokens(t.Context()); err != nil || tok.AccessToken != "access-new" {
		t.Errorf("Tokens = %q, %v; want the new sign-in from memory", tok.AccessToken, err)
	}
	if !strings.Contains(h.logs.String(), "keyring locked") {
		t.Errorf("the failed save was not logged: %s", h.logs)
	}
}

func TestForget(t *testing.T) {
	stored := tokens("stored", t0.Add(time.Hour))
	h := newHarness(t, &fakeMethod{}, &stored, nil)
	if err := h.s.Forget(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.Get(t.Context(), sessionName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("store after Forget: %v, want ErrNotFound", err)
	}
	if _, err := h.s.Tokens(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
		t.Errorf("Tokens after Forget = %v, want login required", err)
	}
	if err := h.s.NeedsLogin(); !errors.Is(err, cred.ErrLoginRequired) {
		t.Errorf("NeedsLogin after Forget = %v", err)
	}
	if !h.s.Expiry().IsZero() {
		t.Errorf("Expiry after Forget = %v, want zero", h.s.Expiry())
	}
	if got := h.onChanges(); len(got) != 1 || got[0] == nil {
		t.Errorf("OnChange saw %v, want one call that sees a sign-in is needed", got)
	}
}

// TestOnChange: OnChange runs once per sign-in, renewal and loss of the
// session, and never for a plain read.
func TestOnChange(t *testing.T) {
	refreshErr := error(nil)
	m := &fakeMethod{
		poll: func(context.Context) (login.Tokens, error) { return tokens("signed-in", t0.Add(time.Hour)), nil },
		refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
			if refreshErr != nil {
				return login.Tokens{}, refreshErr
			}
			return tokens("renewed", t0.Add(2*time.Hour)), nil
		},
	}
	h := newHarness(t, m, nil, nil)
	step := func(what string, want ...bool) {
		t.Helper()
		got := h.onChanges()
		var needs []bool
		for _, e := range got {
			needs = append(needs, e != nil)
		}
		if fmt.Sprint(needs) != fmt.Sprint(want) {
			t.Fatalf("after %s, OnChange calls saw needs-login %v, want %v", what, needs, want)
		}
	}
	read := func() { _, _ = h.s.Tokens(t.Context()) }

	step("start")
	if err := wait(t, h.begin(t, true)); err != nil {
		t.Fatal(err)
	}
	step("sign-in", false)
	read()
	step("a read of fresh tokens", false)
	h.clock.Advance(58 * time.Minute)
	read()
	step("renewal", false, false)
	refreshErr = errors.New("timeout")
	h.clock.Advance(time.Hour)
	read()
	step("a transient failure", false, false)
	refreshErr = fmt.Errorf("%w: revoked", cred.ErrLoginRequired)
	read()
	step("refusal", false, false, true)
	read()
	h.clock.Advance(time.Hour)
	read()
	step("reads after the refusal", false, false, true)
	if err := wait(t, h.begin(t, true)); err != nil {
		t.Fatal(err)
	}
	step("a new sign-in", false, false, true, false)
}

func TestOnChangeWhenTokensRunOutWithoutRefreshToken(t *testing.T) {
	stored := tokens("stored", t0.Add(time.Hour))
	stored.RefreshToken = ""
	h := newHarness(t, &fakeMethod{}, &stored, nil)
	h.clock.Advance(2 * time.Hour)
	for range 3 {
		if _, err := h.s.Tokens(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
			t.Fatalf("Tokens = %v, want login required", err)
		}
	}
	if got := h.onChanges(); len(got) != 1 || got[0] == nil {
		t.Errorf("OnChange saw %v, want one call seeing a sign-in is needed", got)
	}
}

// secrets are in every token below; none may reach fmt output or logs.
var secrets = []string{"SECRET-access", "SECRET-id", "SECRET-refresh", "SECRET-extra"}

func secretTokens() login.Tokens {
	return login.Tokens{AccessToken: "SECRET-access", IDToken: "SECRET-id", RefreshToken: "SECRET-refresh",
		Expiry: t0.Add(time.Hour), Extra: map[string]string{"client_secret": "SECRET-extra"}}
}

func leaked(s string) string {
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			return secret
		}
	}
	return ""
}

func TestTokensNeverPrinted(t *testing.T) {
	tok := secretTokens()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %[1]v"} {
		if s := fmt.Sprintf(verb, tok); leaked(s) != "" {
			t.Errorf("fmt %s shows %s: %s", verb, leaked(s), s)
		}
		if s := fmt.Sprintf(verb, &tok); leaked(s) != "" {
			t.Errorf("fmt %s of a pointer shows %s: %s", verb, leaked(s), s)
		}
		if s := fmt.Sprintf(verb, []login.Tokens{tok}); leaked(s) != "" {
			t.Errorf("fmt %s of a slice shows %s: %s", verb, leaked(s), s)
		}
	}
	if s := tok.String(); !strings.Contains(s, "2026-03-01T10:00:00Z") || !strings.Contains(s, "refresh=true") {
		t.Errorf("String = %q, want the expiry and whether there is a refresh token", s)
	}
	for name, h := range map[string]func(io.Writer) slog.Handler{
		"json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		var b bytes.Buffer
		log := slog.New(h(&b))
		log.Info("tokens", "tokens", tok, "pointer", &tok, slog.Any("any", tok), slog.Group("g", "tokens", tok))
		if s := leaked(b.String()); s != "" {
			t.Errorf("slog %s handler shows %s: %s", name, s, b.String())
		}
	}
}

// TestSessionLogsNoSecrets runs a session through sign-in, renewal, a
// failed and a refused renewal, a flow with a provider error, and checks
// the log.
func TestSessionLogsNoSecrets(t *testing.T) {
	signed := secretTokens()
	renewed := secretTokens()
	renewed.Expiry = t0.Add(2 * time.Hour)
	var calls int
	m := &fakeMethod{
		poll: func(context.Context) (login.Tokens, error) { return signed, nil },
		refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
			calls++
			switch calls {
			case 1:
				return renewed, nil
			case 2:
				return login.Tokens{}, errors.New("503")
			}
			return login.Tokens{}, fmt.Errorf("%w: revoked", cred.ErrLoginRequired)
		},
	}
	h := newHarness(t, m, nil, nil)
	if err := wait(t, h.begin(t, true)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{58 * time.Minute, time.Hour, 0, time.Hour} {
		h.clock.Advance(d)
		_, _ = h.s.Tokens(t.Context())
	}
	if calls != 3 {
		t.Fatalf("Refresh called %d times, want 3", calls)
	}
	if s := leaked(h.logs.String()); s != "" || h.logs.String() == "" {
		t.Errorf("the session's log shows %q:\n%s", s, h.logs)
	}
}

// golden compares JSON with testdata/name (indented); -update rewrites it.
func golden(t *testing.T, name string, raw []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	b.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("%s differs; got:\n%s\nwant:\n%s", path, b.Bytes(), want)
	}
}

// get fetches a URL on the loopback callback listener.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", u, err)
	}
	return resp.StatusCode, string(body)
}

// TestSignInDuringRefusedRenewal: a sign-in that lands while the old
// refresh token is being refused stands; the refusal of the replaced
// session must not turn the new one login-required.
func TestSignInDuringRefusedRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		m := &fakeMethod{
			refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
				<-release
				return login.Tokens{}, fmt.Errorf("%w: invalid_grant", cred.ErrLoginRequired)
			},
			poll: func(context.Context) (login.Tokens, error) { return tokens("signed-in", t0.Add(time.Hour)), nil },
		}
		old := tokens("old", t0.Add(time.Minute)) // within RenewAhead: renews
		h := newHarness(t, m, &old, nil)

		var got login.Tokens
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			got, err = h.s.Tokens(t.Context())
		}()
		synctest.Wait() // in Refresh
		if err := wait(t, h.begin(t, true)); err != nil {
			t.Fatalf("sign-in: %v", err)
		}
		close(release)
		<-done

		if err != nil || got.AccessToken != "access-signed-in" {
			t.Errorf("the renewing caller got %q, %v; want the new sign-in's token", got.AccessToken, err)
		}
		if need := h.s.NeedsLogin(); need != nil {
			t.Errorf("NeedsLogin = %v after a sign-in: the refusal was of the replaced session", need)
		}
		if tok, err := h.s.Tokens(t.Context()); err != nil || tok.AccessToken != "access-signed-in" {
			t.Errorf("Tokens = %q, %v", tok.AccessToken, err)
		}
	})
}

// TestRunRenewsInTheBackground: Run renews RenewAhead before expiry with
// nobody asking, retries failures with backoff, stops at a refusal (the
// session needs a sign-in, and OnChange says so), and marks a session
// without a refresh token login-required when its token runs out.
func TestRunRenewsInTheBackground(t *testing.T) {
	transient := errors.New("connection reset by peer")
	refused := fmt.Errorf("%w: invalid_grant", cred.ErrLoginRequired)
	type step struct {
		advance   time.Duration // from the previous step
		refreshes int           // Refresh calls so far
		needs     bool          // NeedsLogin after the step
	}
	for _, tc := range []struct {
		name    string
		stored  login.Tokens
		results []error // of successive Refresh calls; nil: renewed
		steps   []step
	}{
		{
			name:   "renews five minutes ahead, again and again",
			stored: tokens("old", t0.Add(time.Hour)),
			steps: []step{
				{advance: 54 * time.Minute, refreshes: 0},
				{advance: time.Minute, refreshes: 1},      // t0+55m: renewed to live 1h
				{advance: 54 * time.Minute, refreshes: 1}, // t0+1h49m
				{advance: time.Minute, refreshes: 2},      // t0+1h50m: 5m before the renewed expiry
				{advance: 55 * time.Minute, refreshes: 3}, // and on, every 55 minutes
				{advance: 55 * time.Minute, refreshes: 4},
			},
		},
		{
			name:    "a transient failure is retried with backoff",
			stored:  tokens("old", t0.Add(time.Hour)),
			results: []error{transient, transient, transient, nil},
			steps: []step{
				{advance: 55 * time.Minute, refreshes: 1},
				{advance: 29 * time.Second, refreshes: 1},
				{advance: time.Second, refreshes: 2},     // +30s
				{advance: time.Minute, refreshes: 3},     // +1m
				{advance: 2 * time.Minute, refreshes: 4}, // +2m: renewed
				{advance: 50 * time.Minute, refreshes: 4},
			},
		},
		{
			name:    "a refusal ends the session at once; no more attempts",
			stored:  tokens("old", t0.Add(time.Hour)),
			results: []error{refused},
			steps: []step{
				{advance: 55 * time.Minute, refreshes: 1, needs: true},
				{advance: 5 * time.Hour, refreshes: 1, needs: true},
			},
		},
		{
			name:   "short-lived tokens renew at half their life, not in a loop",
			stored: tokens("old", t0.Add(time.Minute)), // loaded: lifetime unknown, renewed at once
			steps: []step{
				{advance: 0, refreshes: 1}, // renewed to live 4 minutes
				{advance: 119 * time.Second, refreshes: 1},
				{advance: time.Second, refreshes: 2}, // at 2 of its 4 minutes
			},
		},
		{
			name:   "no refresh token: login-required when the token runs out",
			stored: func() login.Tokens { tok := tokens("old", t0.Add(time.Hour)); tok.RefreshToken = ""; return tok }(),
			steps: []step{
				{advance: 59 * time.Minute, refreshes: 0},
				{advance: time.Minute, refreshes: 0, needs: true},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var h *harness
				var n int
				m := &fakeMethod{refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
					i := n
					n++
					if i < len(tc.results) && tc.results[i] != nil {
						return login.Tokens{}, tc.results[i]
					}
					life := time.Hour
					if strings.HasPrefix(tc.name, "short-lived") {
						life = 4 * time.Minute
					}
					return tokens(fmt.Sprint("renewed-", i), h.clock.Now().Add(life)), nil
				}}
				h = newHarness(t, m, &tc.stored, nil)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { defer close(done); h.s.Run(ctx) }()
				defer func() { cancel(); <-done }()

				for i, st := range tc.steps {
					synctest.Wait()
					h.clock.Advance(st.advance)
					synctest.Wait()
					if got, _, _ := m.calls(); got != st.refreshes {
						t.Fatalf("step %d (+%v): %d renewals, want %d", i, st.advance, got, st.refreshes)
					}
					if need := h.s.NeedsLogin(); (need != nil) != st.needs {
						t.Fatalf("step %d: NeedsLogin = %v, want needed=%v", i, need, st.needs)
					}
				}
				if len(tc.results) > 0 && tc.results[0] == transient && !strings.Contains(h.logs.String(), transient.Error()) {
					t.Errorf("the retried failure's cause is not logged:\n%s", h.logs)
				}
				if last := tc.steps[len(tc.steps)-1]; last.needs {
					changes := h.onChanges()
					if len(changes) == 0 || changes[len(changes)-1] == nil {
						t.Errorf("OnChange saw %v; want the sign-in need reported", changes)
					}
				}
			})
		})
	}
}

// TestLogoutDuringRenewal: a logout while a renewal is under way wins:
// neither a successful nor a refused renewal brings the session back or
// answers with tokens, and the store stays empty.
func TestLogoutDuringRenewal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result login.Tokens
		err    error
	}{
		{"the renewal succeeds", tokens("renewed", t0.Add(time.Hour)), nil},
		{"the renewal is refused", login.Tokens{}, fmt.Errorf("%w: invalid_grant", cred.ErrLoginRequired)},
		{"the renewal fails", login.Tokens{}, errors.New("503 Service Unavailable")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				m := &fakeMethod{refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
					<-release
					return tc.result, tc.err
				}}
				old := tokens("old", t0.Add(time.Minute)) // within RenewAhead: renews
				h := newHarness(t, m, &old, nil)
				var got login.Tokens
				var err error
				done := make(chan struct{})
				go func() {
					defer close(done)
					got, err = h.s.Tokens(t.Context())
				}()
				synctest.Wait() // in Refresh
				if err := h.s.Forget(t.Context()); err != nil {
					t.Fatal(err)
				}
				close(release)
				<-done
				if got.AccessToken != "" || !errors.Is(err, cred.ErrLoginRequired) || !strings.Contains(err.Error(), "not signed in") {
					t.Errorf("the renewing caller got %q, %v; want login-required: not signed in", got.AccessToken, err)
				}
				if _, gerr := h.store.Get(t.Context(), sessionName); gerr == nil {
					t.Errorf("the store holds the session again after the logout")
				}
				if need := h.s.NeedsLogin(); need == nil {
					t.Errorf("NeedsLogin = nil after a logout")
				}
			})
		})
	}
}

// TestRenewalBoundedByFetchTimeout: a provider that never answers a
// renewal holds its callers no longer than Options.FetchTimeout; the
// failure is a transient one (the valid tokens are served, the error
// names refresh.fetch_timeout), and the waiters do not start another
// renewal at once as if their caller had given up.
func TestRenewalBoundedByFetchTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMethod{refresh: func(ctx context.Context, _ login.Tokens) (login.Tokens, error) {
			<-ctx.Done() // a provider that never answers
			return login.Tokens{}, ctx.Err()
		}}
		old := tokens("old", t0.Add(time.Minute))
		h := newHarness(t, m, &old, func(o *login.Options) { o.FetchTimeout = 30 * time.Second })

		start := time.Now()
		var wg sync.WaitGroup
		got := make([]string, 5)
		for i := range got {
			wg.Go(func() {
				tok, err := h.s.Tokens(t.Context())
				if err != nil {
					t.Errorf("caller %d: %v, want the tokens still valid", i, err)
				}
				got[i] = tok.AccessToken
			})
		}
		wg.Wait()
		if waited := time.Since(start); waited != 30*time.Second {
			t.Errorf("callers waited %s, want refresh.fetch_timeout (30s)", waited)
		}
		for i, a := range got {
			if a != "access-old" {
				t.Errorf("caller %d got %q, want access-old", i, a)
			}
		}
		if n, _, _ := m.calls(); n != 1 {
			t.Errorf("Refresh called %d times, want 1 (the waiters share the renewal's failure)", n)
		}

		// The background renewal meets the same bound, and its log says
		// which setting ended the wait.
		h.s.Step(t.Context())
		if logs := h.logs.String(); !strings.Contains(logs, "session renewal failed; retrying") || !strings.Contains(logs, "no answer within refresh.fetch_timeout (30s)") {
			t.Errorf("log does not name refresh.fetch_timeout:\n%s", logs)
		}
	})
}
