package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/refresh"
)

// Store is the part of the session store a Session uses.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// Options configure a Session.
type Options struct {
	Store  Store // nil: sessions live in memory only
	Clock  clock.Clock
	Logger *slog.Logger
	// RenewAhead renews tokens when less than this remains (default 5m).
	RenewAhead time.Duration
	// FlowTimeout bounds a sign-in flow (default 10m).
	FlowTimeout time.Duration
	// FetchTimeout bounds one renewal of the tokens, as
	// refresh.fetch_timeout bounds every upstream fetch (0: only the
	// method's HTTP client's own timeout).
	FetchTimeout time.Duration
	// LoginHint is the command that signs this session in, for messages
	// ("credd login --provider okta").
	LoginHint string
	// OnChange is called after tokens change or the session needs a
	// sign-in (status, metrics, notifications, kicking refreshers).
	OnChange func(s *Session)
}

// Session is one sign-in (an sso_sessions or identity_providers entry).
type Session struct {
	name   string // store key, e.g. "oidc/okta"
	method Method
	o      Options
	clock  clock.Clock
	log    *slog.Logger

	mu       sync.Mutex
	tokens   Tokens
	have     bool
	needs    error      // why a sign-in is needed, once refresh failed
	flowMu   sync.Mutex // serializes Begin; guards flow
	storeMu  sync.Mutex // orders store writes
	version  uint64     // of tokens; guarded by mu
	flow     *Flow
	renewing *renewal  // the renewal under way, if any
	issued   time.Time // when the tokens were obtained; zero if unknown (loaded)
	renewErr error     // why the last renewal failed, if a retry may fix it

	// The background renewal's place on a refresh.Scheduler (Start), poked
	// on every change so that it recomputes, and its state, which only its
	// Step touches.
	handle atomic.Pointer[refresh.Handle]
	bg     background
}

// background is the state of the background renewal between its steps.
type background struct {
	last     uint64    // the version the retries are about
	failures int       // renewals failed in a row, for the backoff
	retryAt  time.Time // not before this after a failure
	tried    time.Time // the last attempt
}

// renewal is one Refresh that concurrent callers share: the Flight lands
// the renewed tokens, or why it failed.
type renewal struct {
	*refresh.Flight[Tokens]
	old     Tokens // what was renewed
	version uint64 // of old
}

// New returns a session for method, loading stored tokens if there are.
func New(ctx context.Context, name string, method Method, o Options) *Session {
	if o.RenewAhead <= 0 {
		o.RenewAhead = 5 * time.Minute
	}
	if o.FlowTimeout <= 0 {
		o.FlowTimeout = 10 * time.Minute
	}
	s := &Session{name: name, method: method, o: o, clock: clock.Or(o.Clock), log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if o.Store != nil {
		if raw, err := o.Store.Get(ctx, name); err == nil {
			var env stored
			if err := json.Unmarshal(raw, &env); err == nil && env.Kind == method.Kind() {
				s.tokens, s.have = env.Tokens, true
			} else {
				s.log.Warn("stored session unreadable; sign in again", "session", name, "error", err)
			}
		}
	}
	return s
}

// stored is the store's JSON: the daemon's envelope (kind, expires_at)
// plus the tokens.
type stored struct {
	Kind      string    `json:"kind"`
	ExpiresAt time.Time `json:"expires_at"`
	Tokens    Tokens    `json:"tokens"`
}

// Name is the session's store key.
func (s *Session) Name() string { return s.name }

// Expiry is when the session ends: the refresh token's end if known,
// else the token's.
func (s *Session) Expiry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.have {
		return time.Time{}
	}
	if !s.tokens.RefreshExpiry.IsZero() {
		return s.tokens.RefreshExpiry
	}
	return s.tokens.Expiry
}

// Ends is when the session ends and a new sign-in will be needed, if that
// is known: the refresh token's end where the provider tells it, or the
// token's own end when there is no refresh token. Zero: unknown, or not
// signed in.
func (s *Session) Ends() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.have:
		return time.Time{}
	case !s.tokens.RefreshExpiry.IsZero():
		return s.tokens.RefreshExpiry
	case s.tokens.RefreshToken == "":
		return s.tokens.Expiry
	}
	return time.Time{}
}

// NeedsLogin reports why the session needs a sign-in, or nil.
func (s *Session) NeedsLogin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.needs != nil:
		return s.needs
	case !s.have:
		return s.loginRequired("not signed in")
	}
	return nil
}

func (s *Session) loginRequired(why string) error {
	return fmt.Errorf("%w: %s: run `%s`", cred.ErrLoginRequired, why, s.o.LoginHint)
}

// Tokens returns valid tokens, renewing them with the refresh token when
// less than RenewAhead remains. Concurrent callers share one renewal. An
// error wrapping cred.ErrLoginRequired means a sign-in is needed.
func (s *Session) Tokens(ctx context.Context) (Tokens, error) {
	for {
		s.mu.Lock()
		now := s.now()
		switch {
		case s.have && s.tokens.Expiry.Sub(now) > s.o.RenewAhead:
			t := s.tokens
			s.mu.Unlock()
			return t, nil
		case !s.have:
			s.mu.Unlock()
			return Tokens{}, s.loginRequired("not signed in")
		case s.needs != nil:
			// The provider refused the session (or it ran out): what is
			// left of its tokens is not handed out.
			err := s.needs
			s.mu.Unlock()
			return Tokens{}, err
		case s.tokens.RefreshToken == "":
			// Cannot renew: serve what is still valid.
			t, v := s.tokens, s.version
			s.mu.Unlock()
			if t.Expiry.After(now) {
				return t, nil
			}
			if !s.setNeeds(v, s.loginRequired("the session expired and cannot be renewed")) {
				continue // signed in again meanwhile
			}
			return Tokens{}, s.NeedsLogin()
		case s.renewing != nil:
			r := s.renewing
			s.mu.Unlock()
			select {
			case <-r.Done():
			case <-ctx.Done():
				return Tokens{}, ctx.Err()
			}
			t, err := r.Result()
			switch {
			case err == nil:
				return t, nil
			case errors.Is(err, cred.ErrLoginRequired) || err == errSuperseded:
				continue // s.needs, or the new session, says what to serve
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
				continue // the renewing caller gave up, not the provider: try again
			}
			return s.renewFailed(r.old, err)
		}
		r := &renewal{Flight: refresh.NewFlight[Tokens](), old: s.tokens, version: s.version}
		s.renewing = r
		s.mu.Unlock()

		t, err := s.renew(ctx, r.old)
		var renewed Tokens
		kept := false
		if err == nil {
			// Stored before the waiters wake, and returned as is: tokens
			// living less than RenewAhead must not renew again at once.
			// Not if a sign-in or a logout replaced the session meanwhile.
			if renewed, kept = s.setIfCurrent(ctx, t, r.version); kept {
				s.log.Info("session renewed", "session", s.name, "expires", t.Expiry.UTC().Format(time.RFC3339))
			}
		}
		s.mu.Lock()
		if !kept && s.version != r.version {
			// The renewal was of a session that is gone: whatever its
			// outcome, it must neither bring it back nor end its successor.
			err = errSuperseded
		}
		refused := errors.Is(err, cred.ErrLoginRequired)
		if refused {
			s.needs = fmt.Errorf("%w (run `%s`)", err, s.o.LoginHint)
		}
		s.renewErr = nil
		if err != nil && !refused && err != errSuperseded {
			s.renewErr = err
		}
		s.renewing = nil
		r.Land(renewed, err)
		s.mu.Unlock()
		switch {
		case err == nil:
			s.changed()
			return renewed, nil
		case err == errSuperseded:
			continue // answer from the session as it is now
		case refused:
			s.log.Warn("session renewal refused: sign-in required", "session", s.name, "error", err)
			s.changed()
			continue // s.needs answers, as for every caller
		}
		return s.renewFailed(r.old, err)
	}
}

// renew calls the method's Refresh within Options.FetchTimeout. Running
// out of it is a failed renewal (a retry may do better), not a caller
// that gave up: the error does not wrap context.DeadlineExceeded, which
// would send the waiters to renew again at once.
func (s *Session) renew(ctx context.Context, old Tokens) (Tokens, error) {
	if s.o.FetchTimeout <= 0 {
		return s.method.Refresh(ctx, old)
	}
	rctx, cancel := context.WithTimeout(ctx, s.o.FetchTimeout)
	defer cancel()
	t, err := s.method.Refresh(rctx, old)
	if err != nil && ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return Tokens{}, fmt.Errorf("the session's renewal had no answer within refresh.fetch_timeout (%s)", s.o.FetchTimeout)
	}
	return t, err
}

// errSuperseded: a renewal's session was replaced (signed in again, or
// out) while it ran.
var errSuperseded = errors.New("the session changed during the renewal")

// renewFailed answers a caller of a renewal of old that failed (err) for
// a reason a retry may fix: the old tokens while they are valid.
func (s *Session) renewFailed(old Tokens, err error) (Tokens, error) {
	if old.Expiry.After(s.now()) {
		return old, nil // the next call retries
	}
	return Tokens{}, fmt.Errorf("renewing session %s: %w", s.name, err)
}

// now is the wall-clock time: token expiries are compared with the time
// the world keeps, also after the machine slept (a monotonic reading
// stops while it does).
func (s *Session) now() time.Time { return s.clock.Now().Round(0) }

// setNeeds marks the session as needing a sign-in, unless it changed
// since version v was seen; it reports whether it did.
func (s *Session) setNeeds(v uint64, err error) bool {
	s.mu.Lock()
	if s.version != v {
		s.mu.Unlock()
		return false
	}
	first := s.needs == nil
	s.needs = err
	s.mu.Unlock()
	if first {
		s.changed()
	}
	return true
}

// set stores new tokens (memory and store), clears any sign-in need and
// returns the tokens as kept. The caller then calls changed, outside any
// renewal (OnChange may ask for tokens).
func (s *Session) set(ctx context.Context, t Tokens) Tokens {
	s.mu.Lock()
	return s.merge(ctx, t)
}

// setIfCurrent is set for a renewal of version v: nothing is kept if a
// sign-in or a logout changed the session since.
func (s *Session) setIfCurrent(ctx context.Context, t Tokens, v uint64) (Tokens, bool) {
	s.mu.Lock()
	if s.version != v {
		s.mu.Unlock()
		return Tokens{}, false
	}
	return s.merge(ctx, t), true
}

// merge keeps t, completed with what the provider did not send again.
// Called with s.mu held; releases it.
func (s *Session) merge(ctx context.Context, t Tokens) Tokens {
	if t.RefreshToken == "" && s.have {
		t.RefreshToken = s.tokens.RefreshToken // providers may not rotate it
	}
	if t.RefreshExpiry.IsZero() && s.have {
		t.RefreshExpiry = s.tokens.RefreshExpiry
	}
	if len(t.Extra) == 0 && s.have {
		t.Extra = s.tokens.Extra
	}
	return s.keep(ctx, t, true)
}

// offer replaces the session with t, a session obtained elsewhere (the
// AWS CLI's shared cache), when t is a later one: nothing is held, or t is
// another token that outlasts the held one. Nothing of the held session is
// carried over: its refresh token belongs to another sign-in. It reports
// whether t was taken; the caller then calls changed.
func (s *Session) offer(ctx context.Context, t Tokens) bool {
	s.mu.Lock()
	if s.have && (t.AccessToken == s.tokens.AccessToken || !t.Expiry.After(s.tokens.Expiry)) {
		s.mu.Unlock()
		return false
	}
	s.keep(ctx, t, false) // it came from where Kept would share it
	return true
}

// keep makes t the session's tokens and writes them to the store, and
// (share) hands them to the method's Kept. Called with s.mu held; releases
// it.
func (s *Session) keep(ctx context.Context, t Tokens, share bool) Tokens {
	s.tokens, s.have, s.needs, s.issued = t, true, nil, s.now()
	s.version++
	v := s.version
	s.mu.Unlock()
	if s.o.Store != nil {
		exp := t.RefreshExpiry
		if exp.IsZero() {
			exp = t.Expiry
		}
		raw, _ := json.Marshal(stored{Kind: s.method.Kind(), ExpiresAt: exp, Tokens: t})
		s.storeLatest(v, func() error { return s.o.Store.Put(ctx, s.name, raw) }, "session not saved: the next restart needs a sign-in")
	}
	if k, ok := s.method.(keeper); ok && share {
		s.storeLatest(v, func() error { return k.Kept(t) }, "session not shared")
	}
	return t
}

// keeper is a Method that shares the session's tokens beyond the store
// (Identity Center: the AWS CLI's cache). Kept runs after every change of
// tokens, in order, and never for a change already superseded.
type keeper interface {
	Kept(t Tokens) error
}

// storeLatest runs a store write unless a newer change of the session was
// made meanwhile: concurrent sign-ins, renewals and logouts reach the store
// in the order they happened in memory.
func (s *Session) storeLatest(v uint64, write func() error, failure string) {
	s.storeMu.Lock()
	defer s.storeMu.Unlock()
	s.mu.Lock()
	latest := s.version
	s.mu.Unlock()
	if v != latest {
		return
	}
	if err := write(); err != nil {
		s.log.Error(failure, "session", s.name, "error", err)
	}
}

func (s *Session) changed() {
	s.poke()
	if s.o.OnChange != nil {
		s.o.OnChange(s)
	}
}

// Forget drops the session from memory and the store.
func (s *Session) Forget(ctx context.Context) error {
	s.mu.Lock()
	s.tokens, s.have, s.needs = Tokens{}, false, nil
	s.version++
	s.mu.Unlock()
	if s.o.Store != nil {
		s.storeMu.Lock()
		err := s.o.Store.Delete(ctx, s.name)
		s.storeMu.Unlock()
		if err != nil {
			return err
		}
	}
	s.changed()
	return nil
}

// FlowOptions choose how to sign in.
type FlowOptions struct {
	Device bool
	// Remote is the cross-device sign-in of AWS Sign-In: the user signs in
	// on any device and pastes the code it shows (Flow.Submit).
	Remote bool
}

// Flow is a sign-in under way. Every field but done/err is fixed at start.
type Flow struct {
	ID       string
	Session  string
	Device   bool
	Remote   bool   // cross-device: waits for the code the user pastes (Submit)
	URL      string // browser: the authorize URL; device: where to enter the code
	UserCode string
	Expires  time.Time
	done     chan struct{}
	err      error
	cancel   context.CancelFunc
	codes    chan pastedCode // Remote: codes to redeem
}

// Done is closed when the flow ended; Err says how.
func (f *Flow) Done() <-chan struct{} { return f.done }

// Err is nil after a successful sign-in.
func (f *Flow) Err() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}

// Cancel stops the flow (the user pressed Ctrl-C).
func (f *Flow) Cancel() { f.cancel() }

// Begin starts a sign-in, or returns the one already running for this
// session. The flow runs in a goroutine that wg owns and ctx bounds (the
// daemon's lifetime); it ends after FlowTimeout.
func (s *Session) Begin(ctx context.Context, wg *sync.WaitGroup, o FlowOptions) (*Flow, error) {
	// flowMu, not mu: starting a flow calls the provider (discovery,
	// registration, device authorization), and token reads and status must
	// not wait behind the network.
	s.flowMu.Lock()
	defer s.flowMu.Unlock()
	if s.flow != nil {
		select {
		case <-s.flow.done:
		default:
			return s.flow, nil
		}
	}
	fctx, cancel := context.WithTimeout(ctx, s.o.FlowTimeout)
	f := &Flow{ID: randomString(12), Session: s.name, Device: o.Device, done: make(chan struct{}), cancel: cancel, Expires: s.clock.Now().Add(s.o.FlowTimeout)}
	var run func(context.Context) (Tokens, error)
	if o.Remote {
		r, err := s.remoteFlow(fctx, f)
		if err != nil {
			cancel()
			return nil, err
		}
		run = r
	} else if o.Device {
		ds, poll, err := s.method.StartDevice(fctx)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("starting device sign-in for %s: %w", s.name, err)
		}
		f.URL, f.UserCode = ds.VerificationURI, ds.UserCode
		if ds.VerificationURIComplete != "" {
			f.URL = ds.VerificationURIComplete
		}
		if !ds.Expires.IsZero() && ds.Expires.Before(f.Expires) {
			f.Expires = ds.Expires
		}
		run = poll
	} else {
		r, err := s.browserFlow(fctx, f)
		if err != nil {
			cancel()
			return nil, err
		}
		run = r
	}
	s.flow = f
	s.log.Info("sign-in started", "session", s.name, "flow", f.ID, "device", o.Device, "remote", o.Remote)
	wg.Go(func() {
		defer cancel()
		t, err := run(fctx)
		if err == nil {
			s.set(context.WithoutCancel(fctx), t)
			s.changed()
			s.log.Info("signed in", "session", s.name, "expires", t.Expiry.UTC().Format(time.RFC3339))
		} else {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w (after %s; did the browser window close?): run `%s` again", ErrFlowTimeout, s.o.FlowTimeout, s.o.LoginHint)
			} else if errors.Is(err, context.Canceled) {
				err = fmt.Errorf("sign-in cancelled: %w", err)
			}
			s.log.Warn("sign-in failed", "session", s.name, "error", err)
		}
		f.err = err
		close(f.done)
	})
	return f, nil
}

// browserFlow listens on a loopback port for the authorization code
// (RFC 8252) and returns the function that waits for it.
func (s *Session) browserFlow(ctx context.Context, f *Flow) (func(context.Context) (Tokens, error), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("opening the sign-in callback port: %w", err)
	}
	redirect := fmt.Sprintf("http://%s/oauth/callback", ln.Addr())
	state := randomString(24)
	authURL, exchange, err := s.method.AuthCodeURL(ctx, redirect, state)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("starting sign-in for %s: %w", s.name, err)
	}
	f.URL = authURL
	type result struct {
		t   Tokens
		err error
	}
	results := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			// Not ours (a stale tab, or forged): keep waiting for ours.
			page(w, http.StatusBadRequest, "This sign-in link is not the one credd is waiting for (state mismatch). Start again with "+s.o.LoginHint+".")
			return
		case q.Get("error") != "":
			res.err = fmt.Errorf("the identity provider refused the sign-in: %s %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			page(w, http.StatusBadRequest, "The identity provider sent no authorization code.")
			return
		default:
			res.t, res.err = exchange(r.Context(), q.Get("code"))
		}
		if res.err != nil {
			page(w, http.StatusBadRequest, "Sign-in failed: "+res.err.Error())
		} else {
			page(w, http.StatusOK, "Signed in. You can close this tab and return to your terminal.")
		}
		select {
		case results <- res:
		default:
		}
	})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	return func(ctx context.Context) (Tokens, error) {
		defer func() {
			// Shutdown, not Close: the page of the request that ended
			// the flow may still be on its way to the browser.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				srv.Close()
			}
			<-served
		}()
		select {
		case r := <-results:
			return r.t, r.err
		case <-ctx.Done():
			return Tokens{}, ctx.Err()
		}
	}, nil
}

func page(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html><title>credd</title><p>%s</p>", html.EscapeString(msg))
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// poke has the background renewal recompute when it is due.
func (s *Session) poke() {
	if h := s.handle.Load(); h != nil {
		h.Poke()
	}
}

// Renewal backoff after a failure a retry may fix: 30s doubling to 5m
// (refresh.Backoff, whole delays).
var renewBackoff = refresh.Policy{BackoffMin: 30 * time.Second, BackoffMax: 5 * time.Minute}

// Run keeps the session renewed in the background, on a scheduler of its
// own, until ctx ends; see Start. The daemon starts every session on its
// shared refresh.Scheduler instead.
func (s *Session) Run(ctx context.Context) {
	sch := refresh.NewScheduler(s.clock, nil)
	s.Start(sch)
	_ = sch.Run(ctx)
}

// Start keeps the session renewed in the background on sch: RenewAhead
// before its token expires it renews with the refresh token, whether or
// not a profile is asking, so the token stays valid (for Identity Center
// also in the AWS CLI's shared cache), and a refused refresh token is
// found, and the user told, at once rather than at the next fetch. A
// session with no refresh token is marked login-required when its token
// runs out. A renewal that fails for a reason a retry may fix is retried
// with backoff (30s doubling to 5m). Stop, or the end of sch's Run, ends
// it.
func (s *Session) Start(sch *refresh.Scheduler) {
	s.bg.last = s.currentVersion()
	h := sch.Add(s)
	s.handle.Store(h)
	h.Poke()
}

// Stop ends the background renewal that Start began.
func (s *Session) Stop() {
	if h := s.handle.Load(); h != nil {
		h.Stop()
	}
}

// Stopped implements refresh.Task: nothing waits on the background
// renewal.
func (s *Session) Stopped(error) {}

// Step is the background renewal's turn (refresh.Task): it renews when
// due and returns when it is next due, zero when there is nothing to do
// until the session changes.
func (s *Session) Step(ctx context.Context) time.Time {
	if v := s.currentVersion(); v != s.bg.last {
		s.bg = background{last: v, tried: s.bg.tried} // signed in or renewed meanwhile
	}
	at, ok := s.nextStep()
	if !ok || s.now().Before(at) {
		return at // zero when !ok
	}
	s.bg.tried = s.now()
	_, err := s.Tokens(ctx)
	if ctx.Err() != nil {
		return time.Time{}
	}
	if v := s.currentVersion(); v != s.bg.last || s.NeedsLogin() != nil {
		s.bg = background{last: v, tried: s.bg.tried}
	} else {
		s.bg.failures++
		retry := refresh.Backoff(s.bg.failures, renewBackoff, 1)
		s.bg.retryAt = s.now().Add(retry)
		if err == nil {
			s.mu.Lock()
			err = s.renewErr // the tokens in hand were served; this is why they were not renewed
			s.mu.Unlock()
		}
		s.log.Warn("session renewal failed; retrying", "session", s.name, "retry_in", retry.String(), "error", err)
	}
	at, _ = s.nextStep()
	return at
}

// nextStep is when the background renewal next acts: renewAt, after any
// retry's backoff, and never sooner than renewBackoff.BackoffMin after
// the last attempt (never a busy loop, whatever the provider answers).
func (s *Session) nextStep() (time.Time, bool) {
	at, ok := s.renewAt()
	if !ok {
		return time.Time{}, false
	}
	if s.bg.retryAt.After(at) {
		at = s.bg.retryAt
	}
	if floor := s.bg.tried.Add(renewBackoff.BackoffMin); floor.After(at) {
		at = floor
	}
	return at, true
}

// renewAt is when the background renewal next acts: refresh.RenewAt,
// RenewAhead before the token's expiry (half its lifetime before, for
// tokens living less than twice that), when a refresh token can renew
// it, or the expiry itself when nothing can (the session then needs a
// sign-in). ok is false when there is nothing to do: not signed in, or a
// sign-in is needed already.
func (s *Session) renewAt() (at time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.have || s.needs != nil:
		return time.Time{}, false
	case s.tokens.RefreshToken == "":
		return s.tokens.Expiry, true
	}
	return refresh.RenewAt(s.issued, s.tokens.Expiry, s.o.RenewAhead, 0, 0), true
}

func (s *Session) currentVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}
