// Package refresh is credd's renewal engine. A Refresher owns a profile's
// current credentials: it fetches them from its Source, keeps them fresh
// ahead of expiry in the background while the profile is in use,
// collapses concurrent demand into one upstream call (a Flight), and
// keeps serving still-valid credentials while the upstream fails.
//
// The parts are shared with the sign-in sessions of package login: the
// pure timing policy (RenewAt, NextRefresh, Backoff), the Flight that
// concurrent callers share, and the Scheduler, one loop that owns the
// wake-ups of every Refresher and session (a timer heap: an idle profile
// costs no goroutine) and re-times them all after the machine slept.
// A session is not a Refresher over its tokens; package login's doc says
// why.
//
// Reads are lock-free. Only a Refresher's step, which the Scheduler never
// runs twice at once, calls the Source.
package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// Source fetches one set of credentials from upstream. It is called by one
// goroutine at a time.
type Source interface {
	Retrieve(ctx context.Context) (cred.Credentials, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (cred.Credentials, error)

func (f SourceFunc) Retrieve(ctx context.Context) (cred.Credentials, error) { return f(ctx) }

// State is what a caller can know of a refresher.
type State string

const (
	StateIdle          State = "idle"       // never asked for yet
	StateFresh         State = "fresh"      // valid credentials, last refresh worked
	StateRefreshing    State = "refreshing" // an upstream call is under way
	StateStale         State = "stale"      // refresh failing, credentials still valid
	StateExpired       State = "expired"    // credentials expired, nobody asked since
	StateError         State = "error"      // nothing valid, last refresh failed
	StateLoginRequired State = "login-required"
	StateMFARequired   State = "mfa-required" // a login-required whose sign-in is an MFA code
)

// Status is a snapshot for status displays and metrics.
type Status struct {
	Profile     string
	State       State
	Expires     time.Time // zero when nothing is cached
	LastRefresh time.Time // last successful fetch
	LastError   error
	NextAttempt time.Time // zero when dormant
	Failures    int
}

// snapshot is published atomically after every change.
type snapshot struct {
	creds       cred.Credentials
	have        bool
	fetched     time.Time
	lastErr     error
	failures    int
	nextAttempt time.Time
	refreshing  bool
}

// Options configure a Refresher.
type Options struct {
	Policy Policy
	Clock  clock.Clock  // nil: real time
	Logger *slog.Logger // nil: discard
	Jitter func() float64
	// OnResult, if set, is called after every upstream attempt (metrics).
	OnResult func(profile string, err error)
}

// Refresher owns one profile's credentials.
type Refresher struct {
	profile string
	src     Source
	policy  Policy
	clock   clock.Clock
	log     *slog.Logger
	jitter  func() float64
	onRes   func(string, error)

	cur     atomic.Pointer[snapshot]
	lastUse atomic.Int64 // unix nanos of the last Current
	dormant atomic.Bool  // no refresh is scheduled
	drops   atomic.Int64 // Drop calls: a fetch that spans one is void
	handle  atomic.Pointer[Handle]

	mu      sync.Mutex
	pending *Flight[cred.Credentials] // the demand the next fetch answers
	early   bool                      // poked before Start
}

// New returns a Refresher for profile. Start it on a Scheduler (or Run it
// alone).
func New(profile string, src Source, opts Options) *Refresher {
	r := &Refresher{
		profile: profile,
		src:     src,
		policy:  opts.Policy,
		clock:   clock.Or(opts.Clock),
		log:     opts.Logger,
		jitter:  opts.Jitter,
		onRes:   opts.OnResult,
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.jitter == nil {
		r.jitter = randJitter
	}
	r.cur.Store(&snapshot{})
	r.dormant.Store(true)
	return r
}

// Profile is the profile this refresher serves.
func (r *Refresher) Profile() string { return r.profile }

// Current returns valid credentials, fetching them if none are cached. It
// never returns credentials with less than Policy.MinValid left. While the
// last attempt failed and its backoff runs, it returns that error at once
// instead of calling upstream again.
func (r *Refresher) Current(ctx context.Context) (cred.Credentials, error) {
	now := r.clock.Now()
	r.lastUse.Store(now.UnixNano())
	s := r.cur.Load()
	if s.have && s.creds.ValidAt(now, r.policy.MinValid) {
		if r.dormant.Load() {
			r.poke()
		}
		return s.creds, nil
	}
	if s.lastErr != nil && now.Before(s.nextAttempt) && !s.refreshing {
		return cred.Credentials{}, r.unavailable(s.lastErr)
	}
	for {
		f := r.demand()
		select {
		case <-f.Done():
		case <-ctx.Done():
			return cred.Credentials{}, fmt.Errorf("%w: profile %s: still fetching (%w)", cred.ErrNotAvailable, r.profile, ctx.Err())
		}
		c, err := f.Result()
		if err != nil {
			return cred.Credentials{}, r.unavailable(err)
		}
		// The flight was landed with credentials valid when its step
		// read the clock; the clock may have moved past them since (a
		// machine that slept in between): ask again, never hand them out.
		if c.ValidAt(r.clock.Now(), r.policy.MinValid) {
			return c, nil
		}
	}
}

func (r *Refresher) unavailable(err error) error {
	return fmt.Errorf("%w: profile %s: %w", cred.ErrNotAvailable, r.profile, err)
}

// demand returns the pending flight, creating it and waking the step.
func (r *Refresher) demand() *Flight[cred.Credentials] {
	r.mu.Lock()
	if r.pending == nil {
		r.pending = NewFlight[cred.Credentials]()
	}
	f := r.pending
	r.mu.Unlock()
	r.poke()
	return f
}

// poke has the scheduler step the refresher now.
func (r *Refresher) poke() {
	if h := r.handle.Load(); h != nil {
		h.Poke()
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.handle.Load(); h != nil {
		h.Poke() // started meanwhile
		return
	}
	r.early = true // Start pokes
}

// Start has s run the refresher: it sleeps until the first demand, then
// refreshes at NextRefresh (or after a backoff) for as long as the
// profile is in use, and goes dormant after IdleAfter without a request.
// Stop ends it; so does the end of s's Run, which answers pending demands
// with its context's error.
func (r *Refresher) Start(s *Scheduler) {
	h := s.Add(r)
	r.mu.Lock()
	r.handle.Store(h)
	early := r.early
	r.mu.Unlock()
	if early {
		h.Poke()
	}
}

// Stop ends the refresher started with Start: a fetch under way is
// cancelled, and pending demands are answered with context.Canceled.
func (r *Refresher) Stop() {
	if h := r.handle.Load(); h != nil {
		h.Stop()
	}
}

// Kick asks for a refresh now, resetting any backoff (after a sign-in, say).
func (r *Refresher) Kick() {
	r.update(func(s *snapshot) { s.nextAttempt = time.Time{}; s.lastErr = nil; s.failures = 0 })
	r.demand()
}

// Drop forgets the cached credentials, still valid or not, and reports
// err (which should wrap cred.ErrLoginRequired) until a fetch succeeds: the
// sign-in they came from ended or was revoked, so they are not served.
// The next request fetches again.
func (r *Refresher) Drop(err error) {
	r.drops.Add(1)
	r.update(func(s *snapshot) {
		s.creds, s.have = cred.Credentials{}, false
		s.lastErr, s.failures, s.nextAttempt = err, 0, time.Time{}
	})
	r.poke()
}

// Status reports the refresher's state at the current time.
func (r *Refresher) Status() Status {
	s := r.cur.Load()
	now := r.clock.Now()
	st := Status{Profile: r.profile, LastError: s.lastErr, Failures: s.failures, NextAttempt: s.nextAttempt}
	if s.have {
		st.Expires = s.creds.Expires
		st.LastRefresh = s.fetched
	}
	if r.dormant.Load() {
		st.NextAttempt = time.Time{}
	}
	valid := s.have && s.creds.ValidAt(now, r.policy.MinValid)
	switch {
	case s.refreshing:
		st.State = StateRefreshing
	case s.lastErr != nil && errors.Is(s.lastErr, cred.ErrMFARequired):
		st.State = StateMFARequired
	case s.lastErr != nil && errors.Is(s.lastErr, cred.ErrLoginRequired):
		st.State = StateLoginRequired
	case valid && s.lastErr != nil:
		st.State = StateStale
	case valid:
		st.State = StateFresh
	case s.lastErr != nil:
		st.State = StateError
	case s.have:
		st.State = StateExpired
	default:
		st.State = StateIdle
	}
	return st
}

// Run runs the refresher alone, on a scheduler of its own, until ctx
// ends (see Start); it then answers pending demands with ctx's error.
// The daemon starts every refresher on one shared Scheduler instead.
func (r *Refresher) Run(ctx context.Context) error {
	s := NewScheduler(r.clock, r.jitter)
	r.Start(s)
	return s.Run(ctx)
}

// Step is the refresher's turn on the Scheduler: it fetches when a
// demand waits or the refresh point passed (and the profile is in use),
// and returns the next refresh point, zero when dormant (idle, or
// nothing to refresh).
func (r *Refresher) Step(ctx context.Context) time.Time {
	r.step(ctx)
	s := r.cur.Load()
	if !s.nextAttempt.IsZero() && !r.idle() {
		r.dormant.Store(false)
		return s.nextAttempt
	}
	r.dormant.Store(true)
	return time.Time{}
}

// Stopped answers pending demands with err: the refresher stopped.
func (r *Refresher) Stopped(err error) {
	r.dormant.Store(true)
	r.finish(cred.Credentials{}, err)
}

// idle reports whether nobody asked for the profile within IdleAfter.
func (r *Refresher) idle() bool {
	if r.policy.IdleAfter <= 0 {
		return false
	}
	last := time.Unix(0, r.lastUse.Load())
	return r.clock.Now().Sub(last) > r.policy.IdleAfter
}

// step decides, after a wake-up or a timer, whether to call upstream.
// Times are compared on the wall clock: after the machine slept, what the
// world counts as expired is.
func (r *Refresher) step(ctx context.Context) {
	// Whether someone waits is read before the clock: a demand made after
	// this read is left to the next step (its poke asks for one), never
	// answered by what was valid at an earlier time.
	r.mu.Lock()
	waiting := r.pending != nil
	r.mu.Unlock()
	now := r.clock.Now().Round(0)
	s := r.cur.Load()
	valid := s.have && s.creds.ValidAt(now, r.policy.MinValid)
	if waiting && valid {
		// Someone saw nothing valid, but a refresh landed since.
		r.finish(s.creds, nil)
		waiting = false
	}
	due := !s.nextAttempt.IsZero() && !now.Before(s.nextAttempt)
	if waiting || (due && !r.idle()) {
		r.fetch(ctx)
	}
}

func (r *Refresher) fetch(ctx context.Context) {
	r.update(func(s *snapshot) { s.refreshing = true })
	drops := r.drops.Load()
	fctx, cancel := context.WithTimeout(ctx, r.policy.FetchTimeout)
	c, err := r.src.Retrieve(fctx)
	if err != nil && ctx.Err() == nil && errors.Is(fctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within refresh.fetch_timeout (%s): %w", r.policy.FetchTimeout, err)
	}
	cancel()
	if err == nil && r.drops.Load() != drops {
		// The sign-in these credentials rest on ended while they were
		// fetched (with its last token): they are not kept.
		c, err = cred.Credentials{}, r.cur.Load().lastErr
		if err == nil {
			err = fmt.Errorf("%w: the sign-in ended while credentials were fetched", cred.ErrLoginRequired)
		}
	}
	now := r.clock.Now().Round(0)
	if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "") {
		// No error, no credentials (STS with an empty <Credentials/>): a
		// failed fetch, never something to hand out.
		err = errors.New("upstream answered without credentials (an empty access key or secret key)")
	}
	if err == nil && !c.Expires.IsZero() && !c.ValidAt(now, r.policy.MinValid) {
		err = fmt.Errorf("upstream returned credentials that expire at %s, less than %s from now", c.Expires.UTC().Format(time.RFC3339), r.policy.MinValid)
	}
	if err == nil && c.Expires.IsZero() {
		c.Expires = now.Add(r.policy.NoExpiryLifetime)
	}
	if err == nil {
		c.Issued = now
	}
	if r.onRes != nil {
		r.onRes(r.profile, err)
	}
	if ctx.Err() != nil {
		r.update(func(s *snapshot) { s.refreshing = false })
		return
	}
	if err != nil {
		var s snapshot
		r.update(func(x *snapshot) {
			x.refreshing = false
			x.lastErr = err
			x.failures++
			x.nextAttempt = now.Add(Backoff(x.failures, r.policy, r.jitter()))
			s = *x
		})
		level := slog.LevelWarn
		if s.have && s.creds.ValidAt(now, r.policy.MinValid) {
			level = slog.LevelInfo // still serving; a retry is scheduled
		}
		r.log.Log(ctx, level, "refresh failed", "profile", r.profile, "error", err, "failures", s.failures, "retry_in", s.nextAttempt.Sub(now).Round(time.Second).String(), "serving_cached", level == slog.LevelInfo)
		r.finish(cred.Credentials{}, err)
		return
	}
	next := NextRefresh(now, c, r.policy, r.jitter())
	r.update(func(s *snapshot) {
		*s = snapshot{creds: c, have: true, fetched: now, nextAttempt: next}
	})
	r.log.Info("refreshed", "profile", r.profile, "credentials", c, "next_refresh", next.UTC().Format(time.RFC3339))
	r.finish(c, nil)
}

// finish answers the pending flight, if any.
func (r *Refresher) finish(c cred.Credentials, err error) {
	r.mu.Lock()
	f := r.pending
	r.pending = nil
	r.mu.Unlock()
	if f != nil {
		f.Land(c, err)
	}
}

// update publishes a modified copy of the snapshot. Only the loop (and
// Kick) write, so copy-modify-store needs no compare-and-swap loop beyond
// this mutex.
func (r *Refresher) update(fn func(*snapshot)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := *r.cur.Load()
	fn(&s)
	r.cur.Store(&s)
}
