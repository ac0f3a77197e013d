package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/signintest"
	"github.com/credd/credd/ondemand"
	"github.com/credd/credd/peer"
	"github.com/credd/credd/store"
)

// opener is a fake browser opener: it records every URL credd opens.
type opener struct {
	mu   sync.Mutex
	urls []string
}

func (o *opener) open(u string) error {
	o.mu.Lock()
	o.urls = append(o.urls, u)
	o.mu.Unlock()
	return nil
}

func (o *opener) opened() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.urls)
}

// screen is a lock screen the test locks and unlocks.
type screen struct{ locked atomic.Bool }

func (s *screen) Locked() (bool, bool) { return s.locked.Load(), true }

type onDemandRig struct {
	r      *running
	f      *signintest.Server
	clk    *clock.Fake
	open   *opener
	screen *screen
	notes  *recordingNotifier
}

func startOnDemand(t *testing.T, mode string) *onDemandRig {
	t.Helper()
	rig := &onDemandRig{clk: clock.NewFake(time.Now()), open: &opener{}, screen: &screen{}, notes: &recordingNotifier{}}
	rig.f = signintest.New(t, signintest.Options{Now: rig.clk.Now})
	rig.r = startWith(t, signinConfig(rig.f, "sign_in_on_demand: "+mode+"\nsign_in_on_demand_backoff: 10m\n"), "", func(d *Deps) {
		d.Sessions = store.NewMemory()
		d.Clock = rig.clk
		d.OpenBrowser = rig.open.open
		d.Presence = rig.screen
		d.Notifier = rig.notes
		d.WakeCheck = 30 * time.Second
	})
	return rig
}

// ask asks for the profile's credentials as program would.
func (rig *onDemandRig) ask(t *testing.T, program string) error {
	t.Helper()
	_, err := rig.r.d.Current(withAsker(t.Context(), program), "console")
	return err
}

// abandonSignIn has a request open the browser, then cancels the flow as
// a user closing the tab does, and waits until the gate holds it back
// (sign_in_on_demand_backoff).
func (rig *onDemandRig) abandonSignIn(t *testing.T) {
	t.Helper()
	_ = rig.ask(t, "terraform (pid 3)")
	eventually(t, "the browser to open", func() bool { return rig.open.opened() == 1 })
	ctl := rig.r.d.ControlBackend(ControlInfo{})
	start, err := ctl.Login(t.Context(), control.LoginRequest{Profile: "console"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.CancelLogin(t.Context(), start.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the gate to see the abandoned flow", func() bool {
		s := rig.r.d.onDemandStatus(signinKey(rig.f.Session()))
		return s != nil && !s.InProgress && s.NotBefore != nil
	})
}

// eventually waits (in real time) for cond. The bound only turns a hang
// into a failure: a minute, for a loaded machine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOnDemandOneFlow: with sign_in_on_demand: browser, the first request
// for a profile whose session needs a sign-in opens the browser once;
// every other request meanwhile answers "sign-in in progress" naming the
// program that asked, `credd login` joins that flow, and credd status
// shows it. Once signed in, the profile is served.
func TestOnDemandOneFlow(t *testing.T) {
	rig := startOnDemand(t, "browser")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := rig.ask(t, "boto3 (python3, pid 7)"); !errors.Is(err, cred.ErrLoginRequired) {
				t.Errorf("asked: %v, want sign-in required", err)
			}
		})
	}
	wg.Wait()
	eventually(t, "the browser to open", func() bool { return rig.open.opened() == 1 })
	err := rig.ask(t, "aws (pid 9)")
	if !strings.Contains(err.Error(), "sign-in in progress (asked for by boto3 (python3, pid 7))") {
		t.Errorf("a request during the sign-in: %v", err)
	}
	ctl := rig.r.d.ControlBackend(ControlInfo{})
	st := ctl.Status(t.Context())
	if len(st.Sessions) != 1 || st.Sessions[0].OnDemand == nil || !st.Sessions[0].OnDemand.InProgress || st.Sessions[0].OnDemand.AskedBy != "boto3 (python3, pid 7)" || st.Sessions[0].OnDemand.Mode != "browser" {
		t.Errorf("status sessions %+v", st.Sessions)
	}
	// `credd login` joins the flow the request started: the same URL.
	start, err := ctl.Login(t.Context(), control.LoginRequest{SignIn: true})
	if err != nil || start.URL != rig.open.urls[0] {
		t.Fatalf("credd login: %v; URL %q, opened %q", err, start.URL, rig.open.urls[0])
	}
	browse(t, start.URL)
	if ls, err := ctl.LoginStatus(t.Context(), start.ID, time.Minute); err != nil || ls.State != "done" {
		t.Fatalf("sign-in: %+v %v", ls, err)
	}
	eventually(t, "the profile to be served", func() bool { return rig.ask(t, "aws (pid 9)") == nil })
	if n := rig.open.opened(); n != 1 {
		t.Errorf("browser opened %d times, want 1", n)
	}
	if got := rig.notes.all(); len(got) != 1 || !strings.Contains(got[0], "boto3 (python3, pid 7) asked") {
		t.Errorf("notifications %q, want one naming who asked", got)
	}
}

// TestOnDemandBackoff: after a sign-in the user abandoned, no browser
// opens on its own within sign_in_on_demand_backoff; after it, one does.
func TestOnDemandBackoff(t *testing.T) {
	rig := startOnDemand(t, "browser")
	rig.abandonSignIn(t)
	rig.clk.Advance(9 * time.Minute)
	for range 5 {
		err := rig.ask(t, "terraform (pid 3)")
		if err == nil || !strings.Contains(err.Error(), "the last sign-in was abandoned") {
			t.Fatalf("within the backoff: %v", err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := rig.open.opened(); n != 1 {
		t.Fatalf("browser opened %d times within the backoff, want 1", n)
	}
	rig.clk.Advance(2 * time.Minute)
	_ = rig.ask(t, "terraform (pid 3)")
	eventually(t, "a browser after the backoff", func() bool { return rig.open.opened() == 2 })
}

// TestOnDemandSleepAndResume: a night with the screen locked: requests
// (an SDK polling all night) open nothing; after the machine resumes and
// the screen unlocks, exactly one browser opens for the session.
func TestOnDemandSleepAndResume(t *testing.T) {
	rig := startOnDemand(t, "browser")
	rig.screen.locked.Store(true)
	for range 30 {
		err := rig.ask(t, "aws (pid 11)")
		if err == nil || !strings.Contains(err.Error(), "the browser opens when the screen is unlocked") {
			t.Fatalf("while locked: %v", err)
		}
		rig.clk.Advance(10 * time.Second)
	}
	// The machine sleeps: the wall clock jumps 8 hours past the timers.
	rig.clk.Advance(8 * time.Hour)
	time.Sleep(50 * time.Millisecond)
	if n := rig.open.opened(); n != 0 {
		t.Fatalf("browser opened %d times while locked or asleep, want 0", n)
	}
	st := rig.r.d.onDemandStatus(signinKey(rig.f.Session()))
	if st == nil || !st.Pending || st.AskedBy != "aws (pid 11)" {
		t.Fatalf("status while away: %+v", st)
	}
	// Resumed, and the user unlocks: the wake check sees it.
	rig.screen.locked.Store(false)
	for range 4 {
		rig.clk.Advance(30 * time.Second)
		time.Sleep(5 * time.Millisecond)
		_ = rig.ask(t, "aws (pid 11)") // requests race the wake check
	}
	eventually(t, "one browser on return", func() bool { return rig.open.opened() >= 1 })
	for range 10 {
		rig.clk.Advance(30 * time.Second)
		_ = rig.ask(t, "aws (pid 11)")
	}
	time.Sleep(50 * time.Millisecond)
	if n := rig.open.opened(); n != 1 {
		t.Errorf("browser opened %d times on return, want 1", n)
	}
}

// TestOnDemandNotify: the default mode opens nothing; the one
// notification names the program that asked.
func TestOnDemandNotify(t *testing.T) {
	rig := startOnDemand(t, "notify")
	for range 5 {
		if err := rig.ask(t, "node (pid 5)"); !errors.Is(err, cred.ErrLoginRequired) || !strings.Contains(err.Error(), "credd login --signin --profile console") {
			t.Fatalf("asked: %v", err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	rig.notes.mu.Lock()
	defer rig.notes.mu.Unlock()
	var asked []string
	for _, n := range rig.notes.notes {
		if strings.Contains(n, "asked for profile console") {
			asked = append(asked, n)
		}
	}
	if len(rig.notes.notes) != 1 || len(asked) != 1 || !strings.Contains(asked[0], "node (pid 5)") || rig.open.opened() != 0 {
		t.Errorf("notifications %q (browser opened %d times), want one naming node, none opened", rig.notes.notes, rig.open.opened())
	}
	st := rig.r.d.ControlBackend(ControlInfo{}).Status(t.Context())
	if len(st.Sessions) != 1 || st.Sessions[0].OnDemand == nil || st.Sessions[0].OnDemand.Mode != "notify" || st.Sessions[0].OnDemand.AskedBy != "node (pid 5)" {
		t.Errorf("status sessions %+v, want the session with who asked", st.Sessions)
	}
}

// TestProgram: who asked, as notifications and status name it: the
// script an interpreter runs, and never a control character or a name
// without end from another program's command line.
func TestProgram(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    peer.Process
		want string
	}{
		{"binary", peer.Process{PID: 42, Exe: "/usr/local/bin/terraform", Cmdline: []string{"terraform", "plan"}}, "terraform (pid 42)"},
		{"python script", peer.Process{PID: 7, Exe: "/usr/bin/python3.11", Cmdline: []string{"python3", "/usr/bin/aws", "s3", "ls"}}, "aws (python3.11, pid 7)"},
		{"interpreter flag", peer.Process{PID: 8, Exe: "/usr/bin/python3", Cmdline: []string{"python3", "-c", "import boto3"}}, "python3 (pid 8)"},
		{"no exe", peer.Process{PID: 9, Cmdline: []string{"/opt/x/tool"}}, "tool (pid 9)"},
		{"pid only", peer.Process{PID: 10}, "pid 10"},
		{"nothing", peer.Process{}, "an unknown program"},
		{"control characters", peer.Process{PID: 11, Exe: "/tmp/evil\x1b[2J\nname"}, "evil?[2J?name (pid 11)"},
		{"long", peer.Process{PID: 12, Exe: "/tmp/" + strings.Repeat("a", 100)}, strings.Repeat("a", 60) + "… (pid 12)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := program(tc.p); got != tc.want {
				t.Errorf("program = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOnDemandSuspendAndResume: a sign-in abandoned before the machine
// sleeps (a clock suspended for a night: the wall clock jumps, timers do
// not count the time); on resume fifty requests at once (SDK retries that
// waited) and the wake checks open exactly one browser, and no more
// follow.
func TestOnDemandSuspendAndResume(t *testing.T) {
	rig := startOnDemand(t, "browser")
	rig.abandonSignIn(t)

	rig.clk.Suspend(8 * time.Hour) // the night: past the backoff by the wall clock
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { _ = rig.ask(t, "aws (pid 11)") })
	}
	for range 4 {
		rig.clk.Advance(30 * time.Second) // the wake checks, racing the requests
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	eventually(t, "one browser on resume", func() bool { return rig.open.opened() >= 2 })
	for range 10 {
		rig.clk.Advance(30 * time.Second)
		_ = rig.ask(t, "aws (pid 11)")
	}
	time.Sleep(50 * time.Millisecond)
	if n := rig.open.opened() - 1; n != 1 {
		t.Errorf("browser opened %d times on resume, want 1", n)
	}
}

// TestOnDemandNamesTheConnection: who asked, for a request over HTTP (the
// container endpoint), is the process the kernel says opened the
// connection, here this test binary, not anything the request claims;
// the notification and credd status name it.
func TestOnDemandNamesTheConnection(t *testing.T) {
	rig := startOnDemand(t, "notify")
	hdr := map[string]string{"Authorization": auth["Authorization"], "User-Agent": "terraform/1.9"}
	if code, body := rig.r.get(t, "/v1/credentials/console", hdr); code != 503 || !strings.Contains(body, "credd login --signin --profile console") {
		t.Fatalf("asked over HTTP: %d %s, want 503 naming the command", code, body)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The executable's name (in any case: Windows paths are not case
	// sensitive) and this process.
	want := strings.ToLower(filepath.Base(self) + " (pid " + strconv.Itoa(os.Getpid()))
	eventually(t, "the notification", func() bool {
		rig.notes.mu.Lock()
		defer rig.notes.mu.Unlock()
		return len(rig.notes.notes) > 0
	})
	rig.notes.mu.Lock()
	notes := append([]string(nil), rig.notes.notes...)
	rig.notes.mu.Unlock()
	if len(notes) != 1 || !strings.Contains(strings.ToLower(notes[0]), want) || strings.Contains(notes[0], "terraform") {
		t.Errorf("notifications %q, want one naming %q", notes, want)
	}
	st := rig.r.d.ControlBackend(ControlInfo{}).Status(t.Context())
	if len(st.Sessions) != 1 || st.Sessions[0].OnDemand == nil || !strings.HasPrefix(strings.ToLower(st.Sessions[0].OnDemand.AskedBy), want) {
		t.Errorf("status sessions %+v, want asked_by %q...", st.Sessions, want)
	}
}

// TestOnDemandOff: with sign_in_on_demand: off, requests get the 503
// naming the command, and nothing else happens: no browser, no
// notification.
func TestOnDemandOff(t *testing.T) {
	rig := startOnDemand(t, "off")
	for range 5 {
		if err := rig.ask(t, "aws (pid 5)"); !errors.Is(err, cred.ErrLoginRequired) || !strings.Contains(err.Error(), "credd login --signin --profile console") {
			t.Fatalf("asked: %v", err)
		}
	}
	rig.clk.Advance(time.Minute) // a wake check
	time.Sleep(50 * time.Millisecond)
	rig.notes.mu.Lock()
	defer rig.notes.mu.Unlock()
	if len(rig.notes.notes) != 0 || rig.open.opened() != 0 {
		t.Errorf("notifications %q, browser opened %d times; want none of either", rig.notes.notes, rig.open.opened())
	}
}

// TestOnDemandConfigure: a reload that keeps mode and backoff keeps the
// Gate (and who it holds off); a change makes a new one; browser mode
// where no browser can be opened notifies instead, and says so.
func TestOnDemandConfigure(t *testing.T) {
	o := newOnDemand()
	steps := []struct {
		name       string
		opts       ondemand.Options
		canOpen    bool
		downgraded bool
		mode       ondemand.Mode
		same       bool // the Gate of the step before
	}{
		{"browser without a browser", ondemand.Options{Mode: ondemand.ModeBrowser, Backoff: time.Minute}, false, true, ondemand.ModeNotify, false},
		{"the same again", ondemand.Options{Mode: ondemand.ModeBrowser, Backoff: time.Minute}, false, false, ondemand.ModeNotify, true},
		{"another backoff", ondemand.Options{Mode: ondemand.ModeBrowser, Backoff: 2 * time.Minute}, true, false, ondemand.ModeBrowser, false},
		{"notify", ondemand.Options{Mode: ondemand.ModeNotify, Backoff: 2 * time.Minute}, true, false, ondemand.ModeNotify, false},
		{"notify again", ondemand.Options{Mode: ondemand.ModeNotify, Backoff: 2 * time.Minute}, false, false, ondemand.ModeNotify, true},
	}
	var before *ondemand.Gate
	for _, s := range steps {
		if got := o.configure(s.opts, s.canOpen); got != s.downgraded {
			t.Errorf("%s: downgraded %v, want %v", s.name, got, s.downgraded)
		}
		g := o.current()
		if g == nil || g.Mode() != s.mode || (g == before) != s.same {
			t.Errorf("%s: gate %p (before %p) of mode %v; want mode %v, the same gate %v", s.name, g, before, g.Mode(), s.mode, s.same)
		}
		before = g
	}
	if o.screen() == nil {
		t.Error("browser mode without a Presence of the caller's made none of its own")
	}
	o.ask("sso/corp", "aws (pid 1)")
	o.ask("sso/corp", "terraform (pid 2)")
	if got := o.askedBy("sso/corp"); got != "aws (pid 1)" {
		t.Errorf("asked by %q, want the first asker", got)
	}
	o.forget("sso/corp")
	if got := o.askedBy("sso/corp"); got != "" {
		t.Errorf("asked by %q after forget, want none", got)
	}
}
