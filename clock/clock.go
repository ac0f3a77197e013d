// Package clock is the time source of credd. Code takes a Clock; a nil Clock
// means real time, and tests pass a Fake they advance by hand (Advance), or
// put to sleep like a laptop (Suspend). It is the one way credd's tests
// fake time: every deadline, expiry and renewal point credd computes comes
// from a Clock, and WatchSleep, the one detector of the machine's sleep,
// reads it too.
//
// Where tests still use testing/synctest, it is for what a Clock cannot
// reach, and says so:
//
//   - synctest.Wait, to know that every goroutine is blocked before a
//     Fake moves on (refresh, login, the Scheduler's tests; Fake.Next
//     steps timer by timer); that fakes no time.
//   - Third-party code that reads the time itself: go-oidc's ID token
//     expiry check and x/oauth2's device-flow polling (login's OIDC tests),
//     and the keyring probe's timeout (store).
//   - A caller's own context deadline (context.WithTimeout in a
//     refresher test), which is the standard library's timer.
//   - install.Supervise restarts a crashed daemon on real time; its test
//     runs in a bubble.
//
// Production code calls time.Now directly only where the real time is
// what is meant: elapsed time for metrics (imds request durations), file
// modification times (stale temp files in store), the round trip of a
// clock-skew check (doctor), polling an OS service (install), and the
// CLI, which reads the time once per command and passes it down (the
// status it renders, audit --since, a cached token's expiry). The same
// holds for the few waits on the standard library's timers: the config
// watcher's debounce, a sign-in poll's bound (control's wait), a desktop
// notification's timeout. None of them decides when credentials expire or
// renew, and their tests call what they pace directly. The daemon's flush
// of the audit log and of folded log lines runs on the daemon's Clock
// (only while something waits to be flushed), so its tests step it.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that credd uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// Or returns c, or real time when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Fake is a clock that moves only when Advance or Set is called.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a Fake set to now.
func NewFake(now time.Time) *Fake { return &Fake{now: now} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward and fires every timer that is due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	now := f.now
	var keep []*fakeTimer
	var due []*fakeTimer
	for _, t := range f.timers {
		if !t.when.After(now) {
			due = append(due, t)
		} else {
			keep = append(keep, t)
		}
	}
	f.timers = keep
	f.mu.Unlock()
	for _, t := range due {
		select {
		case t.c <- now:
		default:
		}
	}
}

// Suspend models the machine sleeping for d: the wall clock moves on, but
// timers do not count the time (Go's timers run on a monotonic clock that
// stops during suspend on Linux and macOS), so every pending timer fires d
// later than it would have. Nothing fires during Suspend.
func (f *Fake) Suspend(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for _, t := range f.timers {
		t.when = t.when.Add(d)
	}
}

// Next is when the earliest pending timer fires; ok is false when none
// is pending. Tests step from one to the next (as a machine's time
// passes through them) rather than leaping over several at once.
func (f *Fake) Next() (at time.Time, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.timers {
		if !ok || t.when.Before(at) {
			at, ok = t.when, true
		}
	}
	return at, ok
}

func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	t := &fakeTimer{f: f, when: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
	} else {
		f.timers = append(f.timers, t)
	}
	f.mu.Unlock()
	return t
}

type fakeTimer struct {
	f    *Fake
	when time.Time
	c    chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, x := range t.f.timers {
		if x == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			return true
		}
	}
	return false
}
