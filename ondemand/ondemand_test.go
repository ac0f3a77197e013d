package ondemand_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/ondemand"
)

var t0 = time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)

// presence is a screen the test locks and unlocks.
type presence struct{ locked, known atomic.Bool }

func (p *presence) Locked() (bool, bool) { return p.locked.Load(), p.known.Load() }

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		mode ondemand.Mode
		want ondemand.Action
	}{
		{ondemand.ModeOff, ondemand.Nothing},
		{ondemand.ModeNotify, ondemand.Notify},
		{"", ondemand.Notify}, // the default, as before on-demand sign-in
		{ondemand.ModeBrowser, ondemand.Start},
	} {
		g := ondemand.New(ondemand.Options{Mode: tc.mode, Clock: clock.NewFake(t0)})
		if got := g.Ask("signin/console", "aws (pid 1)"); got != tc.want {
			t.Errorf("mode %q: %v, want %v", tc.mode, got, tc.want)
		}
	}
}

// TestOneFlowPerSession: however many requests ask at once, one sign-in
// starts per session; the others answer in progress, naming who asked.
func TestOneFlowPerSession(t *testing.T) {
	g := ondemand.New(ondemand.Options{Mode: ondemand.ModeBrowser, Clock: clock.NewFake(t0)})
	var starts [2]atomic.Int32
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			s := []string{"signin/a", "signin/b"}[i%2]
			switch g.Ask(s, "boto3 (pid 7)") {
			case ondemand.Start:
				starts[i%2].Add(1)
			case ondemand.InProgress:
			default:
				t.Error("neither start nor in progress")
			}
		})
	}
	wg.Wait()
	if starts[0].Load() != 1 || starts[1].Load() != 1 {
		t.Fatalf("starts per session = %d, %d; want 1 each", starts[0].Load(), starts[1].Load())
	}
	if st := g.Status("signin/a"); !st.Flowing || st.Asker != "boto3 (pid 7)" {
		t.Errorf("status %+v", st)
	}
	if r := g.Reason("signin/a", ondemand.InProgress, "credd login --signin"); r != "sign-in in progress (asked for by boto3 (pid 7)): finish it in the browser, or run `credd login --signin`" {
		t.Errorf("reason %q", r)
	}
}

// TestBackoff: no new sign-in within the backoff after an abandoned one,
// doubling while they keep being abandoned; a sign-in resets it.
func TestBackoff(t *testing.T) {
	clk := clock.NewFake(t0)
	g := ondemand.New(ondemand.Options{Mode: ondemand.ModeBrowser, Clock: clk, Backoff: 10 * time.Minute})
	const s = "signin/console"
	for i, wait := range []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute} {
		if got := g.Ask(s, "aws"); got != ondemand.Start {
			t.Fatalf("round %d: %v, want start", i, got)
		}
		g.Ended(s, false)
		clk.Advance(wait - time.Second)
		if got := g.Ask(s, "aws"); got != ondemand.Deferred {
			t.Fatalf("round %d, %s after the abandoned sign-in: %v, want deferred", i, wait-time.Second, got)
		}
		if st := g.Status(s); !st.NotUntil.Equal(clk.Now().Add(time.Second)) {
			t.Errorf("round %d: not until %s, want %s", i, st.NotUntil, clk.Now().Add(time.Second))
		}
		clk.Advance(time.Second)
	}
	if got := g.Ask(s, "aws"); got != ondemand.Start {
		t.Fatalf("after the backoff: %v", got)
	}
	g.Ended(s, true)
	if got := g.Ask(s, "aws"); got != ondemand.Start {
		t.Fatalf("after a sign-in: %v, want start (no backoff left)", got)
	}
	g.Ended(s, false)
	clk.Advance(10 * time.Minute)
	if got := g.Ask(s, "aws"); got != ondemand.Start {
		t.Errorf("the backoff doubled across a sign-in: %v", got)
	}
}

// TestJoined: a `credd login` under way counts as the session's one flow.
func TestJoined(t *testing.T) {
	g := ondemand.New(ondemand.Options{Mode: ondemand.ModeBrowser, Clock: clock.NewFake(t0)})
	g.Joined("signin/console")
	if got := g.Ask("signin/console", "aws"); got != ondemand.InProgress {
		t.Fatalf("%v, want in progress", got)
	}
	g.Ended("signin/console", true)
	if got := g.Ask("signin/console", "aws"); got != ondemand.Start {
		t.Fatalf("after it: %v", got)
	}
}

// suspendable is a fake clock that can sleep like a machine: its wall
// time jumps while its timers, which run on a clock that stops during
// sleep, fire only as much later as they were due.
type suspendable struct {
	*clock.Fake
	mu     sync.Mutex
	off    time.Duration // wall time slept so far
	timers atomic.Int32  // made so far
}

func newClock() *suspendable { return &suspendable{Fake: clock.NewFake(t0)} }

func (c *suspendable) NewTimer(d time.Duration) clock.Timer {
	defer c.timers.Add(1)
	return c.Fake.NewTimer(d)
}

func (c *suspendable) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Fake.Now().Add(c.off)
}

func (c *suspendable) Suspend(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// TestResumeGivesOnePrompt: a sign-in abandoned before a night of sleep;
// on resume many programs ask at once (refreshers and SDK retries that
// waited); exactly one browser opens, and the watcher's wake-up adds none.
func TestResumeGivesOnePrompt(t *testing.T) {
	clk := newClock()
	g := ondemand.New(ondemand.Options{Mode: ondemand.ModeBrowser, Clock: clk})
	const s = "signin/console"
	if g.Ask(s, "aws") != ondemand.Start {
		t.Fatal("first request did not start a sign-in")
	}
	g.Ended(s, false) // nobody was there: timed out
	var woke atomic.Int32
	var opened atomic.Int32
	open := func(p []ondemand.Pending) { opened.Add(int32(len(p))) }
	var wg0 sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	defer wg0.Wait()
	defer cancel()
	wg0.Go(func() { ondemand.WatchWake(ctx, clk, time.Minute, nil, func() { woke.Add(1); open(g.Woke()) }) })
	waitTimers(t, clk, 1)
	clk.Advance(time.Minute) // a check, awake: no wake-up
	waitTimers(t, clk, 2)
	if woke.Load() != 0 {
		t.Fatal("woke without sleeping")
	}
	clk.Suspend(8 * time.Hour) // the night
	clk.Advance(time.Minute)   // the first check after resume
	waitTimers(t, clk, 3)
	if woke.Load() != 1 {
		t.Fatalf("wake-ups = %d, want 1", woke.Load())
	}
	var starts atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if g.Ask(s, "terraform (pid 99)") == ondemand.Start {
				starts.Add(1)
			}
		})
	}
	wg.Wait()
	if n := starts.Load() + opened.Load(); n != 1 {
		t.Fatalf("prompts after resume = %d (%d started by requests, %d by the wake-up), want exactly 1", n, starts.Load(), opened.Load())
	}
}

// TestLockedScreen: while the screen is locked no browser opens; the
// requests are remembered, and unlocking opens exactly one per session.
func TestLockedScreen(t *testing.T) {
	clk := newClock()
	p := &presence{}
	p.known.Store(true)
	p.locked.Store(true)
	g := ondemand.New(ondemand.Options{Mode: ondemand.ModeBrowser, Clock: clk, Presence: p})
	for range 20 {
		if got := g.Ask("signin/console", "aws"); got != ondemand.Deferred {
			t.Fatalf("locked: %v, want deferred", got)
		}
	}
	if r := g.Reason("signin/console", ondemand.Deferred, "credd login --signin"); r != "sign-in required: the browser opens when the screen is unlocked, or run `credd login --signin`" {
		t.Errorf("reason %q", r)
	}
	if got := g.Woke(); len(got) != 0 {
		t.Fatalf("woke while locked: %v", got)
	}
	var wakes []ondemand.Pending
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		ondemand.WatchWake(ctx, clk, time.Minute, p, func() {
			mu.Lock()
			defer mu.Unlock()
			wakes = append(wakes, g.Woke()...)
		})
	})
	waitTimers(t, clk, 1)
	p.locked.Store(false)
	clk.Advance(time.Minute)
	waitTimers(t, clk, 2)
	clk.Advance(time.Minute) // a second check: no second prompt
	waitTimers(t, clk, 3)
	mu.Lock()
	got := append([]ondemand.Pending(nil), wakes...)
	mu.Unlock()
	if len(got) != 1 || got[0].Session != "signin/console" || got[0].Asker != "aws" {
		t.Fatalf("on unlock: %+v, want one sign-in for signin/console", got)
	}
	if a := g.Ask("signin/console", "aws"); a != ondemand.InProgress {
		t.Errorf("after the unlock's sign-in started: %v", a)
	}
}

// waitTimers waits until the watcher has set its n-th timer.
func waitTimers(t *testing.T, c *suspendable, n int32) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a bound on a hang, for a loaded machine
	for c.timers.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher set no timer")
		}
		time.Sleep(time.Millisecond)
	}
}
