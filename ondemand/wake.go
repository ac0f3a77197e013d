package ondemand

import (
	"context"
	"time"

	"github.com/credd/credd/clock"
)

// WakeCheck is how often WatchWake looks.
const WakeCheck = clock.SleepCheck

// Wake tells when the user may be back: the machine resumed from sleep
// (clock.WatchSleep tells), or the screen was unlocked (where its
// Presence can tell).
type Wake struct {
	p         Presence
	wasLocked bool
	woke      func()
}

// NewWake returns a Wake that calls woke when the user may be back; p may
// be nil (no screen lock known).
func NewWake(p Presence, woke func()) *Wake {
	w := &Wake{p: p, woke: woke}
	if p != nil {
		w.wasLocked, _ = p.Locked()
	}
	return w
}

// Check is one look, fed by clock.WatchSleep: resumed says whether the
// machine resumed from sleep since the last one.
func (w *Wake) Check(resumed bool) {
	unlocked := false
	if w.p != nil {
		locked, known := w.p.Locked()
		unlocked = known && w.wasLocked && !locked
		w.wasLocked = known && locked
	}
	if resumed || unlocked {
		w.woke()
	}
}

// WatchWake calls woke when the user may be back (see Wake), looking
// every interval (default WakeCheck) until ctx ends.
func WatchWake(ctx context.Context, clk clock.Clock, interval time.Duration, p Presence, woke func()) {
	clock.WatchSleep(ctx, clk, interval, NewWake(p, woke).Check)
}
