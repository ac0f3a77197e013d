package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
	"github.com/credd/credd/ondemand"
	"github.com/credd/credd/peer"
)

// Sign-in on demand (sign_in_on_demand): what a request for a profile
// whose session needs a sign-in does. The Gate (package ondemand) decides;
// the daemon starts the flows it allows (in Run, which owns them), opens
// the browser, tells the Gate how each ended, and reports wake-ups.

// onDemand is the daemon's side of the Gate. It owns its lock: the daemon
// reaches its state through its methods only.
type onDemand struct {
	mu   sync.Mutex
	gate *ondemand.Gate
	mode string
	back time.Duration
	// asked: the first program that asked for each session needing a
	// sign-in (notify mode, where the Gate keeps none), for status.
	asked map[string]string
	// starts are the flows the Gate allowed, for Run to start.
	starts chan onDemandStart
	// presence is the Gate's word on a locked screen (nil: none).
	presence ondemand.Presence
}

type onDemandStart struct{ session, asker string }

func newOnDemand() *onDemand {
	return &onDemand{asked: map[string]string{}, starts: make(chan onDemandStart, 64)}
}

// configureOnDemand makes the Gate for cfg's sign_in_on_demand; a reload
// that changes neither mode nor backoff keeps the Gate (and its state).
func (d *Daemon) configureOnDemand(cfg config.Config) {
	mode := cfg.SignInOnDemand
	if mode == "" {
		mode = config.OnDemandNotify
	}
	opts := ondemand.Options{Mode: ondemand.Mode(mode), Backoff: cfg.SignInOnDemandBackoff.Duration, Clock: d.deps.Clock, Presence: d.deps.Presence}
	if d.onDemand.configure(opts, d.deps.OpenBrowser != nil) {
		d.log.Warn("sign_in_on_demand is browser, but credd has no way to open a browser here: it notifies instead")
	}
}

// configure makes a Gate of opts, unless the one it has is of the same
// mode and backoff. Browser mode without a way to open one (!canOpen)
// notifies instead: downgraded says so, for the log. Without a Presence
// in opts, browser mode watches the screen with one of its own.
func (o *onDemand) configure(opts ondemand.Options, canOpen bool) (downgraded bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	mode := string(opts.Mode)
	if o.gate != nil && o.mode == mode && o.back == opts.Backoff {
		return false
	}
	if opts.Presence == nil && opts.Mode == ondemand.ModeBrowser {
		if o.presence == nil {
			o.presence = ondemand.NewPresence()
		}
		opts.Presence = o.presence
	}
	if opts.Mode == ondemand.ModeBrowser && !canOpen {
		opts.Mode, downgraded = ondemand.ModeNotify, true
	}
	o.gate, o.mode, o.back = ondemand.New(opts), mode, opts.Backoff
	return downgraded
}

// current is the Gate, nil before the first configure.
func (o *onDemand) current() *ondemand.Gate {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.gate
}

// ask keeps asker as who asked for session first (notify mode, where the
// Gate keeps none), unless someone did already.
func (o *onDemand) ask(session, asker string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.asked[session] == "" {
		o.asked[session] = asker
	}
}

// forget forgets who asked for session.
func (o *onDemand) forget(session string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.asked, session)
}

// askedBy is who asked for session first, or "".
func (o *onDemand) askedBy(session string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.asked[session]
}

// screen is the Presence browser mode made of its own, if any.
func (o *onDemand) screen() ondemand.Presence {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.presence
}

func (d *Daemon) gate() *ondemand.Gate { return d.onDemand.current() }

type askerKey struct{}

// withAsker tags ctx with the program a request came from.
func withAsker(ctx context.Context, asker string) context.Context {
	return context.WithValue(ctx, askerKey{}, asker)
}

// askerOf names the program behind a request: the control channel's
// caller (withAsker), or the process that opened the HTTP connection, as
// the kernel tells it.
func (d *Daemon) askerOf(ctx context.Context) string {
	if a, ok := ctx.Value(askerKey{}).(string); ok {
		return a
	}
	cn, _ := ctx.Value(connKey{}).(*conn)
	if cn == nil {
		return ""
	}
	d.lookup(cn)
	if cn.err != nil {
		return "a client at " + cn.remote.String()
	}
	p, _ := d.process(cn)
	return program(p)
}

// program names a process for the user: "aws (pid 4242)"; a script run by
// an interpreter by its script ("aws (python3, pid 4242)").
func program(p peer.Process) string {
	name := ""
	switch {
	case p.Exe != "":
		name = filepath.Base(p.Exe)
	case len(p.Cmdline) > 0:
		name = filepath.Base(p.Cmdline[0])
	}
	lower := strings.ToLower(name)
	for _, interp := range []string{"python", "node", "ruby", "java", "perl", "bash", "sh"} {
		if strings.HasPrefix(lower, interp) && len(p.Cmdline) > 1 && !strings.HasPrefix(p.Cmdline[1], "-") {
			name = filepath.Base(p.Cmdline[1]) + " (" + name + ","
			break
		}
	}
	// Names come from other programs: printable, and short.
	name = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, name)
	if len(name) > 60 {
		name = name[:60] + "…"
	}
	switch {
	case name == "" && p.PID == 0:
		return "an unknown program"
	case name == "":
		return fmt.Sprintf("pid %d", p.PID)
	case strings.HasSuffix(name, ","):
		return fmt.Sprintf("%s pid %d)", name, p.PID)
	}
	return fmt.Sprintf("%s (pid %d)", name, p.PID)
}

// callerProgram names a control channel caller.
func callerProgram(c control.Caller) string {
	if c.Err != nil && c.Process.PID == 0 {
		return ""
	}
	return program(c.Process)
}

// askSignIn is called when a profile's credentials need a sign-in (err):
// it asks the Gate what to do for the session behind them and answers the
// request accordingly: a sign-in started or under way, one deferred, or
// err itself.
func (d *Daemon) askSignIn(ctx context.Context, profile string, err error) error {
	key := sessionOf(d.gen.Load().cfg, profile)
	si := d.sessions.get(key)
	if si == nil || si.sess.NeedsLogin() == nil {
		return err // not a session's sign-in (MFA, or the session is back)
	}
	g := d.gate()
	if g == nil {
		return err
	}
	asker := d.askerOf(ctx)
	if asker == "" {
		asker = "an unknown program"
	}
	a := ondemand.Notify
	if si.flow != "device" || g.Mode() != ondemand.ModeBrowser {
		a = g.Ask(key, asker)
	} // a device sign-in needs its code read: it is never started on its own
	switch a {
	case ondemand.Start:
		select {
		case d.onDemand.starts <- onDemandStart{session: key, asker: asker}:
		default: // Run is far behind: let the Gate try again later
			g.Ended(key, false)
			return err
		}
		d.log.Info("sign-in on demand", "session", key, "profile", profile, "asked_by", asker)
		return cred.Errorf(cred.ErrLoginRequired, "profile %s: sign-in in progress (asked for by %s): finish it in the browser, or run `%s`", profile, asker, si.hint)
	case ondemand.InProgress, ondemand.Deferred:
		return cred.Errorf(cred.ErrLoginRequired, "profile %s: %s", profile, g.Reason(key, a, si.hint))
	case ondemand.Notify:
		d.onDemand.ask(key, asker)
		// One notification per ended session: this one names who asked,
		// unless the session's end was told already.
		if d.sessions.notifyOnce(key) && d.deps.Notifier != nil {
			d.deps.Notifier.Notify("credd: sign-in required", fmt.Sprintf("%s asked for profile %s, whose sign-in (%s) has ended: run `%s`", asker, profile, key, si.hint))
		}
	}
	return err
}

// signedInAgain forgets who asked for a session, once it no longer needs
// a sign-in.
func (d *Daemon) signedInAgain(key string) {
	d.onDemand.forget(key)
}

// startOnDemand starts a sign-in the Gate allowed, in Run (which owns the
// flows), and opens the browser at it.
func (d *Daemon) startOnDemand(ctx context.Context, wg *sync.WaitGroup, s onDemandStart) {
	g := d.gate()
	si := d.sessions.get(s.session)
	if si == nil {
		g.Ended(s.session, false)
		return
	}
	f, fresh, err := d.sessions.beginFlow(ctx, wg, si, login.FlowOptions{})
	if err != nil {
		d.log.Warn("sign-in on demand did not start", "session", s.session, "error", err)
		g.Ended(s.session, false)
		return
	}
	if !fresh || f.Device || f.Remote {
		return // joined one under way (credd login's): its end is reported
	}
	if err := d.deps.OpenBrowser(f.URL); err != nil {
		d.log.Warn("sign-in on demand: the browser did not open", "session", s.session, "error", err)
		f.Cancel()
		return
	}
	if d.deps.Notifier != nil {
		d.deps.Notifier.Notify("credd: sign in", fmt.Sprintf("%s asked for credentials of %s: sign in in the browser window credd opened", s.asker, s.session))
	}
}

// onFlow tells the Gate of every sign-in flow that starts (on demand, or
// `credd login`'s) and of its end: requests meanwhile answer "sign-in in
// progress", and one abandoned holds off on-demand ones for the backoff.
func (d *Daemon) onFlow(wg *sync.WaitGroup, f *login.Flow) {
	if g := d.gate(); g != nil {
		g.Joined(f.Session)
	}
	wg.Go(func() {
		<-f.Done()
		if g := d.gate(); g != nil {
			g.Ended(f.Session, f.Err() == nil)
		}
	})
}

// wakeCheck returns the check that starts the sign-ins asked for while
// the user was away, one per session, when the machine resumes or the
// screen unlocks (in browser mode; the Gate has none to start otherwise).
// The daemon's one sleep detector (clock.WatchSleep, in Run) feeds it
// until ctx ends.
func (d *Daemon) wakeCheck(ctx context.Context) func(resumed bool) {
	p := d.deps.Presence
	if p == nil {
		p = d.onDemand.screen()
	}
	return ondemand.NewWake(p, func() {
		for _, p := range d.gate().Woke() {
			d.log.Info("the user is back: sign-in on demand", "session", p.Session, "asked_by", p.Asker)
			select {
			case d.onDemand.starts <- onDemandStart{session: p.Session, asker: p.Asker}:
			case <-ctx.Done():
				return
			}
		}
	}).Check
}

// onDemandStatus is a session's on-demand state for `credd status`.
func (d *Daemon) onDemandStatus(key string) *control.OnDemandStatus {
	g := d.gate()
	if g == nil {
		return nil
	}
	st := g.Status(key)
	if st.Asker == "" {
		st.Asker = d.onDemand.askedBy(key)
	}
	return &control.OnDemandStatus{Mode: string(g.Mode()), InProgress: st.Flowing, AskedBy: st.Asker, Pending: st.Pending, NotBefore: timePtr(st.NotUntil)}
}

// withOnDemand sets the on-demand state of each configured session of a
// status listing, and adds the configured sessions it lacks
// (never signed in, so not stored) whose on-demand sign-in is doing
// something: under way, pending, or held off.
func (d *Daemon) withOnDemand(out []control.SessionStatus) []control.SessionStatus {
	g := d.gate()
	if g == nil {
		return out
	}
	listed := map[string]bool{}
	for i, s := range out {
		listed[s.Name] = true
		if s.State != "stored" {
			out[i].OnDemand = d.onDemandStatus(s.Name)
		}
	}
	added := false
	for _, key := range d.sessions.configured() {
		st := d.onDemandStatus(key)
		if listed[key] || (!st.InProgress && !st.Pending && st.NotBefore == nil && st.AskedBy == "") {
			continue
		}
		si := d.sessions.get(key)
		if si == nil {
			continue
		}
		ss := control.SessionStatus{Name: key, Kind: strings.SplitN(key, "/", 2)[0], State: "signed-in", OnDemand: st}
		if err := si.sess.NeedsLogin(); err != nil {
			ss.State, ss.Error, ss.Login = "login-required", err.Error(), si.hint
		}
		out, added = append(out, ss), true
	}
	if added {
		slices.SortFunc(out, func(a, b control.SessionStatus) int { return compareNatural(a.Name, b.Name) })
	}
	return out
}
