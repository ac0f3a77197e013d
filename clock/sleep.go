package clock

import (
	"context"
	"time"
)

// SleepCheck is how often WatchSleep looks.
const SleepCheck = 30 * time.Second

// slept is how far the wall clock may run ahead of a timer before the
// machine is taken to have slept.
const slept = time.Minute

// WatchSleep is credd's one detector of the machine's sleep: every
// interval (default SleepCheck) until ctx ends it calls check, with
// resumed true when the machine resumed from sleep since the last call.
// It tells by the wall clock jumping ahead of a timer, since timers run on
// a clock that stops while the machine sleeps (Linux's CLOCK_MONOTONIC,
// macOS's mach_absolute_time), so deadlines computed on it are late.
func WatchSleep(ctx context.Context, clk Clock, interval time.Duration, check func(resumed bool)) {
	clk = Or(clk)
	if interval <= 0 {
		interval = SleepCheck
	}
	last := clk.Now().Round(0) // wall time only
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
		check(resumed)
	}
}
