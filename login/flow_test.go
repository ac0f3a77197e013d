package login_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
)

// callbackURL is the redirect URI the method was given, with q.
func callbackURL(t *testing.T, m *fakeMethod, q url.Values) string {
	t.Helper()
	redirect, _ := m.callback()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatalf("redirect URI %q: %v", redirect, err)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestBeginRunsOneFlow(t *testing.T) {
	for _, device := range []bool{false, true} {
		t.Run(map[bool]string{false: "browser", true: "device"}[device], func(t *testing.T) {
			const callers = 50
			m := &fakeMethod{deviceStart: login.DeviceStart{UserCode: "ABCD-EFGH", VerificationURI: "https://idp.example/device"}}
			h := newHarness(t, m, nil, nil)
			flows := make([]*login.Flow, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() { flows[i], errs[i] = h.s.Begin(t.Context(), h.wg, login.FlowOptions{Device: device}) })
			}
			wg.Wait()
			for i := range callers {
				if errs[i] != nil {
					t.Fatalf("Begin %d: %v", i, errs[i])
				}
				if flows[i] != flows[0] {
					t.Fatalf("Begin %d returned flow %s, others %s", i, flows[i].ID, flows[0].ID)
				}
			}
			_, authURLs, starts := m.calls()
			if authURLs+starts != 1 {
				t.Errorf("%d browser and %d device sign-ins started for %d callers, want 1", authURLs, starts, callers)
			}
			first := flows[0]
			if first.ID == "" || first.Session != sessionName || first.Device != device || first.URL == "" {
				t.Errorf("flow = %+v", first)
			}

			// Once it ended, the next Begin starts a new flow.
			first.Cancel()
			_ = wait(t, first)
			next := h.begin(t, device)
			if next == first || next.ID == first.ID {
				t.Errorf("Begin after the flow ended returned the old flow %s", first.ID)
			}
			next.Cancel()
			_ = wait(t, next)
		})
	}
}

func TestBrowserCallback(t *testing.T) {
	type request struct {
		path  string     // default /oauth/callback
		query url.Values // "STATE" stands for the flow's state
		code  int
		page  string // in the answer
	}
	right := func(kv ...string) url.Values {
		q := url.Values{"state": {"STATE"}}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	ok := request{query: right("code", "the-code"), code: http.StatusOK, page: "Signed in"}
	for _, tc := range []struct {
		name     string
		exchange func(context.Context, string) (login.Tokens, error)
		requests []request
		wantErr  string // in the flow's error; "" for success
	}{
		{name: "right state", requests: []request{ok}},
		{name: "wrong state is ignored, then the right one", requests: []request{
			{query: url.Values{"state": {"forged"}, "code": {"evil-code"}}, code: http.StatusBadRequest, page: "state mismatch"},
			{query: url.Values{"code": {"evil-code"}}, code: http.StatusBadRequest, page: "state mismatch"},
			ok,
		}},
		{name: "a provider error with a wrong state is ignored", requests: []request{
			{query: url.Values{"state": {"forged"}, "error": {"access_denied"}}, code: http.StatusBadRequest, page: "state mismatch"},
			ok,
		}},
		{name: "no code, then a code", requests: []request{
			{query: right(), code: http.StatusBadRequest, page: "no authorization code"},
			ok,
		}},
		{name: "another path", requests: []request{
			{path: "/favicon.ico", query: right("code", "the-code"), code: http.StatusNotFound},
			ok,
		}},
		{name: "access denied", requests: []request{
			{query: right("error", "access_denied", "error_description", "The user said no"), code: http.StatusBadRequest, page: "access_denied"},
		}, wantErr: "access_denied The user said no"},
		{name: "the exchange fails", exchange: func(context.Context, string) (login.Tokens, error) {
			return login.Tokens{}, errors.New(`oauth2: "invalid_grant" "code expired"`)
		}, requests: []request{
			{query: right("code", "the-code"), code: http.StatusBadRequest, page: "code expired"},
		}, wantErr: "code expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeMethod{exchange: tc.exchange}
			h := newHarness(t, m, nil, nil)
			f := h.begin(t, false)
			redirect, state := m.callback()
			if !strings.HasPrefix(redirect, "http://127.0.0.1:") || !strings.HasSuffix(redirect, "/oauth/callback") {
				t.Fatalf("redirect URI = %q, want http://127.0.0.1:<port>/oauth/callback", redirect)
			}
			if q := mustQuery(t, f.URL); q.Get("state") != state || len(state) < 32 {
				t.Fatalf("flow URL %q does not carry a strong state (%q)", f.URL, state)
			}
			for i, r := range tc.requests {
				q := url.Values{}
				for k, v := range r.query {
					q[k] = slices.Clone(v)
				}
				if q.Get("state") == "STATE" {
					q.Set("state", state)
				}
				u := callbackURL(t, m, q)
				if r.path != "" {
					u = strings.Replace(u, "/oauth/callback", r.path, 1)
				}
				code, page := get(t, u)
				if code != r.code || !strings.Contains(page, r.page) {
					t.Fatalf("request %d: %d %q, want %d with %q", i, code, page, r.code, r.page)
				}
				if i < len(tc.requests)-1 {
					select {
					case <-f.Done():
						t.Fatalf("request %d ended the flow: %v", i, f.Err())
					default:
					}
				}
			}
			err := wait(t, f)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("flow: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("flow error = %v, want it to contain %q", err, tc.wantErr)
			}
			if tc.wantErr == "" {
				if codes := m.exchanged(); !slices.Equal(codes, []string{"the-code"}) {
					t.Errorf("exchanged codes %q, want only the-code", codes)
				}
				if tok, err := h.s.Tokens(t.Context()); err != nil || tok.AccessToken != "access-signed-in" {
					t.Errorf("Tokens after sign-in = %q, %v", tok.AccessToken, err)
				}
			} else if err := h.s.NeedsLogin(); !errors.Is(err, cred.ErrLoginRequired) {
				t.Errorf("NeedsLogin after a failed sign-in = %v", err)
			}
			// The callback port is closed once the flow ended.
			c := &http.Client{Timeout: 2 * time.Second}
			if resp, err := c.Get(callbackURL(t, m, url.Values{"state": {state}, "code": {"late"}})); err == nil {
				resp.Body.Close()
				t.Errorf("the callback still answers after the flow ended: %s", resp.Status)
			}
		})
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestBrowserFlowTimeout uses real time (the flow listens on a real
// socket, which a synctest bubble cannot wait on), kept short.
func TestBrowserFlowTimeout(t *testing.T) {
	m := &fakeMethod{}
	h := newHarness(t, m, nil, func(o *login.Options) { o.FlowTimeout = 200 * time.Millisecond })
	err := wait(t, h.begin(t, false))
	if !errors.Is(err, login.ErrFlowTimeout) || !strings.Contains(err.Error(), hint) {
		t.Errorf("flow error = %v, want ErrFlowTimeout naming %q", err, hint)
	}
	if err := h.s.NeedsLogin(); !errors.Is(err, cred.ErrLoginRequired) {
		t.Errorf("NeedsLogin = %v", err)
	}
}

func TestDeviceFlowTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMethod{deviceStart: login.DeviceStart{UserCode: "ABCD-EFGH", VerificationURI: "https://idp.example/device"}}
		h := newHarness(t, m, nil, func(o *login.Options) { o.FlowTimeout = 10 * time.Minute })
		start := time.Now()
		f := h.begin(t, true)
		<-f.Done()
		if took := time.Since(start); took != 10*time.Minute {
			t.Errorf("the flow ended after %v, want the FlowTimeout", took)
		}
		if err := f.Err(); !errors.Is(err, login.ErrFlowTimeout) || !strings.Contains(err.Error(), hint) {
			t.Errorf("flow error = %v, want ErrFlowTimeout naming %q", err, hint)
		}
	})
}

func TestFlowCancel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		device bool
		daemon bool // the daemon stops instead of the user pressing Ctrl-C
	}{
		{name: "browser"},
		{name: "device", device: true},
		{name: "browser, daemon stops", daemon: true},
		{name: "device, daemon stops", device: true, daemon: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeMethod{deviceStart: login.DeviceStart{UserCode: "ABCD-EFGH", VerificationURI: "https://idp.example/device"}}
			h := newHarness(t, m, nil, nil)
			ctx, stop := context.WithCancel(t.Context())
			f, err := h.s.Begin(ctx, h.wg, login.FlowOptions{Device: tc.device})
			if err != nil {
				t.Fatal(err)
			}
			if tc.daemon {
				stop()
			} else {
				f.Cancel()
			}
			err = wait(t, f)
			stop()
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
				t.Errorf("flow error = %v, want a cancelled sign-in", err)
			}
		})
	}
}

func TestDeviceFlow(t *testing.T) {
	for _, tc := range []struct {
		name        string
		start       login.DeviceStart
		wantURL     string
		wantExpires time.Time
	}{
		{name: "complete URI preferred, the code's expiry bounds the flow",
			start: login.DeviceStart{UserCode: "ABCD-EFGH", VerificationURI: "https://idp.example/device",
				VerificationURIComplete: "https://idp.example/device?user_code=ABCD-EFGH", Expires: t0.Add(5 * time.Minute), Interval: time.Second},
			wantURL: "https://idp.example/device?user_code=ABCD-EFGH", wantExpires: t0.Add(5 * time.Minute)},
		{name: "plain URI, the FlowTimeout bounds the flow",
			start:   login.DeviceStart{UserCode: "ABCD-EFGH", VerificationURI: "https://idp.example/device", Expires: t0.Add(time.Hour)},
			wantURL: "https://idp.example/device", wantExpires: t0.Add(10 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			approved := make(chan struct{})
			m := &fakeMethod{deviceStart: tc.start, poll: func(ctx context.Context) (login.Tokens, error) {
				select {
				case <-approved:
					return tokens("device", t0.Add(time.Hour)), nil
				case <-ctx.Done():
					return login.Tokens{}, ctx.Err()
				}
			}}
			h := newHarness(t, m, nil, func(o *login.Options) { o.FlowTimeout = 10 * time.Minute })
			f := h.begin(t, true)
			if f.URL != tc.wantURL || f.UserCode != tc.start.UserCode || !f.Expires.Equal(tc.wantExpires) || !f.Device {
				t.Errorf("flow URL %q code %q expires %v; want %q %q %v", f.URL, f.UserCode, f.Expires, tc.wantURL, tc.start.UserCode, tc.wantExpires)
			}
			close(approved)
			if err := wait(t, f); err != nil {
				t.Fatal(err)
			}
			if tok, err := h.s.Tokens(t.Context()); err != nil || tok.AccessToken != "access-device" {
				t.Errorf("Tokens = %q, %v", tok.AccessToken, err)
			}
		})
	}
}

func TestDeviceFlowStartFails(t *testing.T) {
	m := &fakeMethod{startErr: errors.New("okta does not offer device sign-in")}
	h := newHarness(t, m, nil, nil)
	for range 2 { // a failed start leaves no flow behind: the next Begin tries again
		_, err := h.s.Begin(t.Context(), h.wg, login.FlowOptions{Device: true})
		if err == nil || !strings.Contains(err.Error(), sessionName) || !strings.Contains(err.Error(), "does not offer device sign-in") {
			t.Errorf("Begin = %v, want an error naming the session and the cause", err)
		}
	}
	if _, _, starts := m.calls(); starts != 2 {
		t.Errorf("StartDevice called %d times, want 2", starts)
	}
}

// blockingStart is a method whose sign-in start hangs until released, like
// a provider that is slow to answer discovery.
type blockingStart struct {
	*fakeMethod
	entered, release chan struct{}
}

func (b blockingStart) StartDevice(ctx context.Context) (login.DeviceStart, func(context.Context) (login.Tokens, error), error) {
	close(b.entered)
	<-b.release
	return b.fakeMethod.StartDevice(ctx)
}

// TestSlowFlowStartDoesNotBlockTokenReads: while a flow start waits on the
// provider, token reads and NeedsLogin answer at once.
func TestSlowFlowStartDoesNotBlockTokenReads(t *testing.T) {
	fm := &fakeMethod{}
	m := blockingStart{fakeMethod: fm, entered: make(chan struct{}), release: make(chan struct{})}
	s := login.New(t.Context(), "oidc/slow", m, login.Options{LoginHint: "credd login --provider slow"})
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	began := make(chan error, 1)
	go func() {
		f, err := s.Begin(t.Context(), &wg, login.FlowOptions{Device: true})
		if err == nil {
			f.Cancel()
		}
		began <- err
	}()
	<-m.entered // the start is now waiting on the "provider"
	done := make(chan struct{})
	go func() {
		_ = s.NeedsLogin()
		_, _ = s.Tokens(t.Context())
		_ = s.Expiry()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // they would wait until the release below
		t.Fatal("token reads waited behind a flow start")
	}
	close(m.release)
	if err := <-began; err != nil {
		t.Fatal(err)
	}
}
