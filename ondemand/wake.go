package ondemand

import (
	"context"
	"time"

	"github.com/credd/credd/clock"
)

// WakeCheck is how often WatchWake looks.
const WakeCheck = 30 * time.Second

// slept is how far the wall clock may run ahead of a timer before the
// machine is taken to have slept.
const slept = time.Minute

// WatchWake calls woke when the user may be back: the machine resumed
// from sleep — the wall clock jumped ahead of a timer, since timers run on
// a clock that stops while the machine sleeps (Linux's CLOCK_MONOTONIC,
// macOS's mach_absolute_time) — or the screen was unlocked (where p can
// tell). It looks every interval (default WakeCheck) until ctx ends.
func WatchWake(ctx context.Context, clk clock.Clock, interval time.Duration, p Presence, woke func()) {
	clk = clock.Or(clk)
	if interval <= 0 {
		interval = WakeCheck
	}
	last := clk.Now().Round(0) // wall time only
	wasLocked := false
	if p != nil {
		wasLocked, _ = p.Locked()
	}
	for {
		t := clk.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		now := clk.Now().Round(0)
		resumed := now.Sub(last) > interval+slept
		last = now
		unlocked := false
		if p != nil {
			locked, known := p.Locked()
			unlocked = known && wasLocked && !locked
			wasLocked = known && locked
		}
		if resumed || unlocked {
			woke()
		}
	}
}
