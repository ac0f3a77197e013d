package daemon

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/clock"
)

// TestLogFlusherSleepsWhenIdle: the flush timer runs only while there is
// something to flush; an idle daemon holds no timer for its logs.
func TestLogFlusherSleepsWhenIdle(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// busy is what idle answers after each flush, in order.
		busy []bool
		// logDuringIdle: a line is logged right after idle answered.
		logDuringIdle bool
		wantFlushes   int
	}{
		{name: "idle after one flush", busy: []bool{false}, wantFlushes: 1},
		{name: "busy for three flushes", busy: []bool{true, true, false}, wantFlushes: 3},
		{name: "a line logged as the logs are found idle", busy: []bool{false, false}, logDuringIdle: true, wantFlushes: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			flushes, asked := 0, 0
			var f *logFlusher
			f = newLogFlusher(clk, func() { flushes++ }, func() bool {
				busy := asked < len(tc.busy) && tc.busy[asked]
				asked++
				if tc.logDuringIdle && asked == 1 {
					f.pending()
				}
				return !busy
			})
			if _, ok := clk.Next(); ok || f.C() != nil {
				t.Fatal("a timer before anything was logged")
			}
			f.pending()
			f.pending() // the second finds the timer requested: no second wake
			if len(f.wake) != 1 {
				t.Fatalf("%d wake-ups queued, want 1", len(f.wake))
			}
			for flushes < tc.wantFlushes+1 {
				select {
				case <-f.wake:
					f.arm()
				default:
				}
				at, ok := clk.Next()
				if !ok {
					break
				}
				if want := clk.Now().Add(flushEvery); !at.Equal(want) {
					t.Fatalf("flush timer at %v, want %v", at, want)
				}
				clk.Advance(flushEvery)
				select {
				case <-f.C():
					f.fire()
				default:
					t.Fatal("the timer fired but C is not ready")
				}
			}
			if flushes != tc.wantFlushes {
				t.Errorf("%d flushes, want %d", flushes, tc.wantFlushes)
			}
			if at, ok := clk.Next(); ok || f.C() != nil || len(f.wake) != 0 {
				t.Errorf("once idle: timer at %v (%v), C %v, %d wake-ups queued; want none", at, ok, f.C(), len(f.wake))
			}
			f.stop()
		})
	}
}

// TestLogsFlushOnTheClock: the daemon's audit lines and folded refusals
// reach the file and the log by the injected clock: an answer's line at
// the next flush, the count of folded refusals once their window is over,
// and not before.
func TestLogsFlushOnTheClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	clk := clock.NewFake(time.Now())
	log, err := audit.Open(audit.Options{Path: path, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	t0 := clk.Now()
	r := startWith(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"),
		func(d *Deps) { d.Audit, d.Clock = log, clk })
	lines := func() []audit.Entry {
		var got []audit.Entry
		_ = audit.Read(path, audit.Filter{}, func(e audit.Entry) { got = append(got, e) })
		return got
	}
	wrong := map[string]string{"Authorization": "guessed-token-xyz"}
	for range 2 {
		if code, _ := r.get(t, "/v1/credentials/dev", wrong); code != 401 {
			t.Fatalf("wrong token: %d", code)
		}
	}
	if code, body := r.get(t, "/v1/credentials/dev", auth); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	// The first refusal is written at once; the answer waits for the flush.
	if got := lines(); len(got) != 1 || got[0].Status != 401 {
		t.Fatalf("before a flush: %+v, want the first refusal only", got)
	}
	eventually(t, "the flush timer", func() bool { at, ok := clk.Next(); return ok && at.Equal(t0.Add(flushEvery)) })
	clk.Advance(flushEvery)
	eventually(t, "the answer's audit line", func() bool { return len(lines()) == 2 })
	if got := lines(); got[1].Status != 200 || got[1].Profile != "dev" {
		t.Fatalf("after a flush: %+v, want the answer second", got)
	}
	if strings.Contains(r.logs.String(), "refused requests (folded)") {
		t.Fatal("folded refusals logged before their window is over")
	}
	// The refusals held for folding keep the timer running.
	eventually(t, "the next flush timer", func() bool { at, ok := clk.Next(); return ok && at.Equal(t0.Add(2*flushEvery)) })
	clk.Advance(time.Minute)
	eventually(t, "the folded refusal's audit line", func() bool { return len(lines()) == 3 })
	if e := lines()[2]; e.Status != 401 || e.Count != 1 {
		t.Errorf("folded refusal %+v, want a 401 counting 1", e)
	}
	eventually(t, "the folded refusals' log line", func() bool { return strings.Contains(r.logs.String(), "refused requests (folded)") })
}
