// Package ondemand decides what a request for credentials does when the
// sign-in session behind them has ended (sign_in_on_demand): nothing
// ("off"), a desktop notification ("notify", the default), or the
// session's browser sign-in ("browser") — at most one per session at a
// time, none within the backoff after one the user abandoned (doubling
// while the user keeps abandoning them), none while the screen is locked
// or the machine sleeps where the OS can tell, and one, not one per
// waiting request, when the machine wakes or the screen unlocks.
//
// The Gate only decides; its owner (the daemon) starts the flows it
// answers Start to, tells it how each ended, and reports wake-ups.
package ondemand

import (
	"fmt"
	"sync"
	"time"

	"github.com/credd/credd/clock"
)

// Mode is sign_in_on_demand.
type Mode string

const (
	ModeNotify  Mode = "notify"
	ModeBrowser Mode = "browser"
	ModeOff     Mode = "off"
)

// DefaultBackoff is sign_in_on_demand_backoff's default.
const DefaultBackoff = 10 * time.Minute

// maxBackoff caps the doubling after abandoned sign-ins: an absent user
// gets at most a few tabs a night.
const maxBackoff = 8 * time.Hour

// Action is what a request for a session that needs a sign-in does.
type Action int

const (
	// Nothing: answer "sign-in required" (naming `credd login`) only.
	Nothing Action = iota
	// Notify: also tell the user on the desktop (the daemon notifies
	// once per ended session).
	Notify
	// Start: start the session's browser sign-in now; the caller must
	// report its end with Ended.
	Start
	// InProgress: a sign-in is under way: answer "sign-in in progress".
	InProgress
	// Deferred: a sign-in is wanted but not now (the screen is locked, or
	// within the backoff after an abandoned one).
	Deferred
)

func (a Action) String() string {
	return [...]string{"nothing", "notify", "start", "in-progress", "deferred"}[a]
}

// Presence tells whether the user can see a browser window now. Locked
// reports a locked screen (or a sleeping machine); known is false where
// the OS cannot tell.
type Presence interface {
	Locked() (locked, known bool)
}

// Options configure a Gate.
type Options struct {
	Mode    Mode
	Backoff time.Duration // default DefaultBackoff
	Clock   clock.Clock
	// Presence, if set, is asked before a browser opens; nil: the user is
	// taken to be there.
	Presence Presence
}

// Gate decides, per session. It is safe for concurrent use.
type Gate struct {
	o     Options
	clock clock.Clock

	mu sync.Mutex
	s  map[string]*state
}

type state struct {
	flowing   bool      // a sign-in is under way
	asker     string    // the program whose request started it, or waits for one
	abandoned int       // on-demand sign-ins abandoned in a row
	until     time.Time // no new on-demand sign-in before this
	pending   bool      // asked for while the user was away: one sign-in on return
}

// New returns a Gate.
func New(o Options) *Gate {
	if o.Mode == "" {
		o.Mode = ModeNotify
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	return &Gate{o: o, clock: clock.Or(o.Clock), s: map[string]*state{}}
}

// Mode is the gate's mode.
func (g *Gate) Mode() Mode { return g.o.Mode }

func (g *Gate) get(session string) *state {
	st, ok := g.s[session]
	if !ok {
		st = &state{}
		g.s[session] = st
	}
	return st
}

func (g *Gate) away() bool {
	if g.o.Presence == nil {
		return false
	}
	locked, known := g.o.Presence.Locked()
	return known && locked
}

// Ask is called for each request that needs session signed in; program
// names who asked ("aws (pid 4242)"), for status and the notification.
func (g *Gate) Ask(session, program string) Action {
	if g.o.Mode == ModeOff {
		return Nothing
	}
	if g.o.Mode == ModeNotify {
		return Notify
	}
	away := g.away() // outside the lock: it may ask the OS
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.get(session)
	switch {
	case st.flowing:
		return InProgress
	case away:
		st.pending, st.asker = true, program
		return Deferred
	case g.clock.Now().Before(st.until):
		return Deferred
	}
	st.flowing, st.pending, st.asker = true, false, program
	return Start
}

// Joined records that a sign-in of session started elsewhere (`credd
// login`): requests answer InProgress until it ends.
func (g *Gate) Joined(session string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.get(session).flowing = true
}

// Ended records how a sign-in of session ended: signedIn, or abandoned
// (it timed out, was cancelled, or failed). After an abandoned one no new
// on-demand sign-in starts within the backoff, doubled for each one
// abandoned in a row (up to 8 hours).
func (g *Gate) Ended(session string, signedIn bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.get(session)
	st.flowing = false
	if signedIn {
		*st = state{}
		return
	}
	st.abandoned++
	b := g.o.Backoff << min(st.abandoned-1, 10)
	st.until = g.clock.Now().Add(min(b, maxBackoff))
}

// Woke is called when the user may be back: the machine resumed from
// sleep, or the screen unlocked. It returns the sessions asked for while
// the user was away, one sign-in each, and marks them started (report
// each with Ended); requests then answer InProgress.
func (g *Gate) Woke() []Pending {
	if g.o.Mode != ModeBrowser || g.away() {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Pending
	now := g.clock.Now()
	for name, st := range g.s {
		if !st.pending || st.flowing || now.Before(st.until) {
			continue
		}
		st.pending, st.flowing = false, true
		out = append(out, Pending{Session: name, Asker: st.asker})
	}
	return out
}

// Pending is a sign-in to start on the user's return.
type Pending struct{ Session, Asker string }

// Status is what `credd status` shows of a session's on-demand sign-in.
type Status struct {
	Flowing  bool      // a sign-in is under way
	Asker    string    // who asked for it (or waits for one)
	Pending  bool      // asked for while the user was away
	NotUntil time.Time // no on-demand sign-in before this (after abandoned ones)
}

// Status reports one session.
func (g *Gate) Status(session string) Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, ok := g.s[session]
	if !ok {
		return Status{}
	}
	s := Status{Flowing: st.flowing, Asker: st.asker, Pending: st.pending}
	if g.clock.Now().Before(st.until) {
		s.NotUntil = st.until
	}
	return s
}

// Reason words a Deferred or InProgress answer for the 503 a client gets.
func (g *Gate) Reason(session string, a Action, loginHint string) string {
	st := g.Status(session)
	switch a {
	case InProgress:
		if st.Asker != "" {
			return fmt.Sprintf("sign-in in progress (asked for by %s): finish it in the browser, or run `%s`", st.Asker, loginHint)
		}
		return fmt.Sprintf("sign-in in progress: finish it in the browser, or run `%s`", loginHint)
	case Deferred:
		if st.Pending {
			return fmt.Sprintf("sign-in required: the browser opens when the screen is unlocked, or run `%s`", loginHint)
		}
		if !st.NotUntil.IsZero() {
			return fmt.Sprintf("sign-in required: the last sign-in was abandoned, none opens on its own before %s; run `%s`", st.NotUntil.UTC().Format(time.RFC3339), loginHint)
		}
	}
	return fmt.Sprintf("sign-in required: run `%s`", loginHint)
}
