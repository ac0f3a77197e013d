package daemon

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/internal/ststest"
	"github.com/credd/credd/refresh"
)

// wakeCounter is a fake clock that counts the timers of the daemon's
// sleep detector (the only ones armed for wakeCheck), so a test knows
// when the detector is waiting and when it has looked again.
type wakeCounter struct {
	*clock.Fake
	every time.Duration
	armed atomic.Int32
}

func (c *wakeCounter) NewTimer(d time.Duration) clock.Timer {
	if d == c.every {
		c.armed.Add(1)
	}
	return c.Fake.NewTimer(d)
}

// TestRenewsWhatFellDueDuringSleep: the daemon's own sleep detector (Run
// wiring clock.WatchSleep to the scheduler) renews a profile whose
// refresh point passed while the machine slept, at the first look after
// the resume and within refresh.ResumeSpread, with no request asking.
// Timers do not count the sleep: without the wiring, the refresh would
// come 40 minutes after the resume, the first request paying for it.
func TestRenewsWhatFellDueDuringSleep(t *testing.T) {
	const wakeCheck = 29 * time.Second // distinct from every other timer of the daemon
	clk := &wakeCounter{Fake: clock.NewFake(time.Now()), every: wakeCheck}
	sts := ststest.New(t)
	sts.SetClock(clk)
	r := startWith(t, fmt.Sprintf(`
sts: {endpoint: %q}
profiles:
  keys: {aws_profile: keys}
  ops: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/ops"}
`, sts.URL), "[profile keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = keys-secret\n", func(d *Deps) {
		d.Clock = clk
		d.WakeCheck = wakeCheck
	})
	if code, body := r.get(t, "/v1/credentials/ops", auth); code != 200 {
		t.Fatalf("ops: %d %s", code, body)
	}
	assumed := func() int { return len(sts.CallsOf("AssumeRole")) }
	if n := assumed(); n != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", n)
	}
	eventually(t, "the sleep detector to wait", func() bool { return clk.armed.Load() >= 1 })

	// The lid closes for two hours: the hour-long credentials expired
	// meanwhile, and their refresh (at 40 minutes) is overdue.
	clk.Suspend(2 * time.Hour)
	resumed := clk.Now()
	armed := clk.armed.Load()
	clk.Advance(wakeCheck)
	eventually(t, "the sleep detector to look", func() bool { return clk.armed.Load() > armed })
	// The renewal is due within ResumeSpread of the look: step the fake
	// clock through it (a second at a time, as time passes), then stop
	// and give the fetch real time to land. Without the resume, the next
	// timer is 40 minutes away and nothing comes.
	for range int(refresh.ResumeSpread/time.Second) + 1 {
		clk.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for assumed() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := assumed(); n != 2 {
		t.Fatalf("%d AssumeRole calls by %s after the resume, want the overdue refresh within %s of the first look",
			n-1, clk.Now().Sub(resumed), refresh.ResumeSpread)
	}
	// Served from what was renewed, not fetched by the request.
	if code, body := r.get(t, "/v1/credentials/ops", auth); code != 200 {
		t.Fatalf("ops after the resume: %d %s", code, body)
	}
	if n := assumed(); n != 2 {
		t.Errorf("%d AssumeRole calls after the request, want 2: the renewal served it", n)
	}
}
