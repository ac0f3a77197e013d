package refresh

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// fakeSource counts calls and answers with fn(call number, now), now
// read from the refresher's clock (run sets it).
type fakeSource struct {
	calls atomic.Int32
	fn    func(n int, now time.Time) (cred.Credentials, error)
	clk   clock.Clock
}

func (f *fakeSource) Retrieve(ctx context.Context) (cred.Credentials, error) {
	n := int(f.calls.Add(1))
	return f.fn(n, f.clk.Now())
}

// lasting returns credentials that expire d after now.
func lasting(d time.Duration) func(int, time.Time) (cred.Credentials, error) {
	return func(n int, now time.Time) (cred.Credentials, error) {
		return cred.Credentials{AccessKeyID: "AKID" + string(rune('0'+n)), SecretAccessKey: "s", SessionToken: "t", Expires: now.Add(d)}, nil
	}
}

var errUpstream = errors.New("upstream is down")

// run starts a refresher on a fake clock inside the synctest bubble
// (synctest.Wait tells when its goroutines are idle) and stops it at the
// end of the test.
func run(t *testing.T, src *fakeSource, mod func(*Policy)) (*Refresher, *clock.Fake) {
	t.Helper()
	p := DefaultPolicy()
	if mod != nil {
		mod(&p)
	}
	clk := clock.NewFake(t0)
	src.clk = clk
	r := New("dev", src, Options{Policy: p, Clock: clk, Jitter: func() float64 { return 0 }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r, clk
}

// sleep moves clk on by d as time passes: timer by timer, each firing at
// its moment and the goroutines it wakes settling before the next.
func sleep(clk *clock.Fake, d time.Duration) {
	end := clk.Now().Add(d)
	for {
		synctest.Wait()
		next, ok := clk.Next()
		if !ok || next.After(end) {
			clk.Advance(end.Sub(clk.Now()))
			synctest.Wait()
			return
		}
		clk.Advance(next.Sub(clk.Now()))
	}
}

func TestLazyFirstFetchThenBackgroundRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{fn: lasting(time.Hour)}
		r, clk := run(t, src, nil)
		sleep(clk, 10*time.Minute)
		synctest.Wait()
		if n := src.calls.Load(); n != 0 {
			t.Fatalf("fetched %d times before anyone asked, want 0", n)
		}
		if st := r.Status(); st.State != StateIdle {
			t.Errorf("state = %s, want idle", st.State)
		}
		c, err := r.Current(t.Context())
		if err != nil || c.AccessKeyID != "AKID1" {
			t.Fatalf("Current = %v, %v", c, err)
		}
		if st := r.Status(); st.State != StateFresh || !st.Expires.Equal(clk.Now().Add(time.Hour)) {
			t.Errorf("status = %+v, want fresh expiring in 1h", st)
		}
		// Refresh point: expiry - 20m = 40m from now (jitter 0).
		sleep(clk, 39*time.Minute)
		synctest.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("refreshed early: %d calls at 39m", n)
		}
		sleep(clk, 2*time.Minute)
		synctest.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Fatalf("%d calls at 41m, want 2 (background refresh at 40m)", n)
		}
		c, _ = r.Current(t.Context())
		if c.AccessKeyID != "AKID2" {
			t.Errorf("serving %s after refresh, want AKID2", c.AccessKeyID)
		}
	})
}

func TestConcurrentColdRequestsCollapseIntoOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		src := &fakeSource{fn: func(n int, now time.Time) (cred.Credentials, error) {
			<-release
			return lasting(time.Hour)(n, now)
		}}
		r, _ := run(t, src, nil)
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 1000 {
			wg.Go(func() {
				if c, err := r.Current(context.Background()); err == nil && c.AccessKeyID == "AKID1" {
					ok.Add(1)
				}
			})
		}
		synctest.Wait() // every caller is now blocked on the one fetch
		if st := r.Status(); st.State != StateRefreshing {
			t.Errorf("state during fetch = %s, want refreshing", st.State)
		}
		close(release)
		wg.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Errorf("%d upstream calls for 1000 concurrent cold requests, want 1", n)
		}
		if ok.Load() != 1000 {
			t.Errorf("%d of 1000 callers got the credentials", ok.Load())
		}
	})
}

func TestFailureKeepsServingValidCredentialsAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failing atomic.Bool
		src := &fakeSource{fn: func(n int, now time.Time) (cred.Credentials, error) {
			if failing.Load() {
				return cred.Credentials{}, errUpstream
			}
			return lasting(time.Hour)(n, now)
		}}
		r, clk := run(t, src, nil)
		if _, err := r.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
		failing.Store(true)
		sleep(clk, 40*time.Minute+time.Second) // refresh point passes, refresh fails
		synctest.Wait()
		st := r.Status()
		if st.State != StateStale || !errors.Is(st.LastError, errUpstream) {
			t.Fatalf("status = %+v, want stale with the upstream error", st)
		}
		c, err := r.Current(t.Context())
		if err != nil || c.AccessKeyID != "AKID1" {
			t.Fatalf("Current while stale = %v, %v; want the still-valid AKID1", c, err)
		}
		// Retries back off exponentially: 1s, 2s, 4s, ... (jitter 0), capped.
		calls := src.calls.Load()
		sleep(clk, 10*time.Minute)
		synctest.Wait()
		retries := src.calls.Load() - calls
		if retries < 5 || retries > 15 {
			t.Errorf("%d retries in 10 minutes, want a handful (exponential backoff)", retries)
		}
		// Recovery: the next retry succeeds and the state is fresh again.
		failing.Store(false)
		sleep(clk, 5*time.Minute)
		synctest.Wait()
		if st := r.Status(); st.State != StateFresh || st.LastError != nil {
			t.Errorf("after recovery status = %+v, want fresh", st)
		}
	})
}

func TestNeverServesCredentialsExpiringWithinAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failing atomic.Bool
		src := &fakeSource{fn: func(n int, now time.Time) (cred.Credentials, error) {
			if failing.Load() {
				return cred.Credentials{}, errUpstream
			}
			return lasting(time.Hour)(n, now)
		}}
		r, clk := run(t, src, nil)
		if _, err := r.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
		failing.Store(true)
		sleep(clk, 58*time.Minute+30*time.Second)
		if _, err := r.Current(t.Context()); err != nil {
			t.Fatalf("90s before expiry: %v, want still served", err)
		}
		sleep(clk, time.Minute) // 30 s left
		_, err := r.Current(t.Context())
		if !errors.Is(err, cred.ErrNotAvailable) || !errors.Is(err, errUpstream) {
			t.Fatalf("30s before expiry: err = %v, want cred.ErrNotAvailable wrapping the upstream error", err)
		}
		if st := r.Status(); st.State != StateError {
			t.Errorf("state = %s, want error", st.State)
		}
	})
}

func TestFailingColdProfileDoesNotHammerUpstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{fn: func(int, time.Time) (cred.Credentials, error) { return cred.Credentials{}, errUpstream }}
		r, clk := run(t, src, nil)
		for range 50 {
			if _, err := r.Current(t.Context()); !errors.Is(err, errUpstream) {
				t.Fatalf("err = %v, want the upstream error", err)
			}
		}
		if n := src.calls.Load(); n != 1 {
			t.Errorf("%d upstream calls for 50 requests inside the backoff, want 1", n)
		}
		sleep(clk, 2*time.Second) // first backoff (1s with jitter 0) is over
		if _, err := r.Current(t.Context()); !errors.Is(err, errUpstream) {
			t.Fatalf("err = %v", err)
		}
		if n := src.calls.Load(); n < 2 {
			t.Errorf("no retry after the backoff: %d calls", n)
		}
	})
}

func TestIdleProfileStopsRefreshingUntilAskedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{fn: lasting(time.Hour)}
		r, clk := run(t, src, func(p *Policy) { p.IdleAfter = 90 * time.Minute })
		if _, err := r.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Refreshes at 40m and 80m (nobody asked, but not idle yet), then the
		// profile is idle (90m) and the 120m refresh does not happen.
		sleep(clk, 5*time.Hour)
		synctest.Wait()
		if n := src.calls.Load(); n != 3 {
			t.Fatalf("%d fetches over 5 idle hours, want 3 (first + 2 before going idle)", n)
		}
		if st := r.Status(); st.State != StateExpired {
			t.Errorf("state = %s, want expired", st.State)
		}
		// Asked again: fetched at once, and kept fresh again.
		if _, err := r.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
		sleep(clk, 41*time.Minute)
		synctest.Wait()
		if n := src.calls.Load(); n != 5 {
			t.Errorf("%d fetches, want 5 (wake-up fetch + background refresh)", n)
		}
	})
}

func TestValidButIdleCredentialsWakeTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{fn: lasting(12 * time.Hour)}
		r, clk := run(t, src, func(p *Policy) { p.IdleAfter = time.Hour })
		if _, err := r.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The refresh point (11h40m) passes while idle: no fetch, dormant.
		sleep(clk, 11*time.Hour+50*time.Minute)
		synctest.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Fatalf("%d fetches while idle, want 1", n)
		}
		if !r.Status().NextAttempt.IsZero() {
			t.Fatalf("idle refresher still has a refresh scheduled")
		}
		// A request gets the cached credentials (10 minutes left) at once,
		// and wakes the loop, which refreshes in the background.
		c, err := r.Current(t.Context())
		if err != nil || c.AccessKeyID != "AKID1" {
			t.Fatalf("Current = %v, %v; want cached AKID1", c, err)
		}
		synctest.Wait()
		if n := src.calls.Load(); n != 2 {
			t.Errorf("%d fetches, want 2 (background refresh after wake-up)", n)
		}
		if c, _ := r.Current(t.Context()); c.AccessKeyID != "AKID2" {
			t.Errorf("serving %s, want the refreshed AKID2", c.AccessKeyID)
		}
	})
}

func TestLoginRequiredState(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind error
		want State
	}{
		{"a sign-in", cred.ErrLoginRequired, StateLoginRequired},
		{"an MFA code", cred.ErrMFARequired, StateMFARequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := &fakeSource{fn: func(int, time.Time) (cred.Credentials, error) {
					return cred.Credentials{}, errors.Join(tc.kind, errors.New("run `credd login`"))
				}}
				r, _ := run(t, src, nil)
				_, err := r.Current(t.Context())
				if !errors.Is(err, cred.ErrLoginRequired) {
					t.Fatalf("err = %v", err)
				}
				if st := r.Status(); st.State != tc.want {
					t.Errorf("state = %s, want %s", st.State, tc.want)
				}
			})
		})
	}
}

func TestCurrentHonoursCallerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		src := &fakeSource{fn: func(n int, now time.Time) (cred.Credentials, error) {
			<-release
			return lasting(time.Hour)(n, now)
		}}
		r, _ := run(t, src, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := r.Current(ctx)
		if !errors.Is(err, cred.ErrNotAvailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want cred.ErrNotAvailable after the caller's deadline", err)
		}
		close(release)
		synctest.Wait()
		// The fetch finished in the background: the next caller is served.
		if _, err := r.Current(context.Background()); err != nil {
			t.Errorf("after the slow fetch: %v", err)
		}
		if n := src.calls.Load(); n != 1 {
			t.Errorf("%d fetches, want 1", n)
		}
	})
}

func TestUpstreamReturningNearlyExpiredCredentialsIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{fn: lasting(30 * time.Second)}
		r, _ := run(t, src, nil)
		if _, err := r.Current(t.Context()); err == nil {
			t.Fatal("served credentials with 30s left")
		}
	})
}

// TestDropStopsServingValidCredentials: after Drop (the sign-in behind
// them ended) valid cached credentials are not served; the profile is
// login-required, and the next request fetches again.
func TestDropStopsServingValidCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		signedIn := atomic.Bool{}
		signedIn.Store(true)
		ended := errors.Join(cred.ErrLoginRequired, errors.New("run `credd login --sso-session corp`"))
		src := &fakeSource{fn: func(n int, now time.Time) (cred.Credentials, error) {
			if !signedIn.Load() {
				return cred.Credentials{}, ended
			}
			return lasting(time.Hour)(n, now)
		}}
		r, _ := run(t, src, nil)
		if _, err := r.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
		signedIn.Store(false)
		r.Drop(ended)
		synctest.Wait()
		if _, err := r.Current(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
			t.Fatalf("after Drop: %v; want login-required, not the cached credentials", err)
		}
		if st := r.Status(); st.State != StateLoginRequired || !st.Expires.IsZero() {
			t.Errorf("status = %+v, want login-required with nothing cached", st)
		}
		signedIn.Store(true)
		r.Kick() // what a new sign-in does
		synctest.Wait()
		if c, err := r.Current(t.Context()); err != nil || c.AccessKeyID == "" {
			t.Fatalf("after a new sign-in: %v", err)
		}
		if st := r.Status(); st.State != StateFresh {
			t.Errorf("state after a new sign-in = %s", st.State)
		}
	})
}

// TestDropVoidsAFetchInFlight: credentials fetched with the ended
// session's last token, arriving after Drop, are not kept or served.
func TestDropVoidsAFetchInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		ended := errors.Join(cred.ErrLoginRequired, errors.New("run `credd login --sso-session corp`"))
		src := &fakeSource{fn: func(n int, now time.Time) (cred.Credentials, error) {
			if n == 1 {
				<-release
				return lasting(time.Hour)(n, now)
			}
			return cred.Credentials{}, ended
		}}
		r, _ := run(t, src, nil)
		got := make(chan error, 1)
		go func() { _, err := r.Current(t.Context()); got <- err }()
		synctest.Wait() // the fetch is in flight
		r.Drop(ended)
		close(release)
		if err := <-got; !errors.Is(err, cred.ErrLoginRequired) {
			t.Fatalf("the request waiting on the fetch got %v; want login-required", err)
		}
		synctest.Wait()
		if _, err := r.Current(t.Context()); !errors.Is(err, cred.ErrLoginRequired) {
			t.Errorf("after the voided fetch: %v; want login-required", err)
		}
		if st := r.Status(); st.State != StateLoginRequired || !st.Expires.IsZero() {
			t.Errorf("status = %+v; want login-required with nothing cached", st)
		}
	})
}

// jumpClock is a fake clock that, once armed, moves on by jump right
// after the next reading: time passing (or a machine sleeping) between
// two steps of the code under test, at an exact point.
type jumpClock struct {
	*clock.Fake
	jump atomic.Int64
}

func (c *jumpClock) Now() time.Time {
	now := c.Fake.Now()
	if d := c.jump.Swap(0); d != 0 {
		c.Fake.Advance(time.Duration(d))
	}
	return now
}

// TestNeverServesCredentialsThatExpiredWhileLanding: a fetch keeps
// credentials valid when it read the clock, but the clock passes their
// expiry before the waiting request takes them. The request must not get
// them: it asks again and gets new ones. (Seen as a flaky daemon test: a
// step that read the clock before an hour's jump answered a request made
// after it with the hour-old credentials.)
func TestNeverServesCredentialsThatExpiredWhileLanding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := &jumpClock{Fake: clock.NewFake(t0)}
		src := &fakeSource{clk: clk.Fake}
		src.fn = func(n int, now time.Time) (cred.Credentials, error) {
			if n == 1 {
				clk.jump.Store(int64(time.Hour)) // right after fetch reads the clock
			}
			return lasting(time.Hour)(n, now)
		}
		// No scheduler: the test runs each step itself, so nothing else
		// reads the clock.
		r := New("dev", src, Options{Policy: DefaultPolicy(), Clock: clk, Jitter: func() float64 { return 0 }})
		type result struct {
			c   cred.Credentials
			err error
		}
		got := make(chan result, 1)
		go func() {
			c, err := r.Current(t.Context())
			got <- result{c, err}
		}()
		synctest.Wait() // the request waits on its flight
		r.Step(t.Context())
		synctest.Wait()
		var res result
		select {
		case res = <-got:
		default: // it asked again: the next step answers it
			r.Step(t.Context())
			res = <-got
		}
		if res.err != nil {
			t.Fatal(res.err)
		}
		if now := clk.Fake.Now(); !res.c.ValidAt(now, DefaultPolicy().MinValid) {
			t.Fatalf("served %v at %s: expired", res.c, now.Format(time.TimeOnly))
		}
		if n := src.calls.Load(); n != 2 {
			t.Errorf("%d fetches, want 2 (the one that expired on landing, and the next)", n)
		}
	})
}
