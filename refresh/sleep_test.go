package refresh

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// clockSource answers credentials living life from clk's now, and records
// when it was called.
type clockSource struct {
	clk  clock.Clock
	life time.Duration
	mu   sync.Mutex
	at   []time.Time
}

func (c *clockSource) Retrieve(context.Context) (cred.Credentials, error) {
	now := c.clk.Now()
	c.mu.Lock()
	c.at = append(c.at, now)
	c.mu.Unlock()
	return cred.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s", Expires: now.Add(c.life)}, nil
}

func (c *clockSource) calls() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.at...)
}

// TestRefreshAfterSleep: a laptop sleeps two hours with twenty profiles in
// use whose credentials (1h) come due meanwhile, and one (8h) that does
// not. Timers do not count the sleep, so without the sleep detector the
// refreshes would come two hours late; with it (clock.WatchSleep feeding
// Scheduler.Resumed), every due profile is refreshed once, within
// ResumeSpread of the first check after the resume, spread over it, and
// the other keeps its refresh point.
func TestRefreshAfterSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		s := NewScheduler(clk, nil)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() { _ = s.Run(ctx) })
		wg.Go(func() {
			clock.WatchSleep(ctx, clk, 30*time.Second, func(resumed bool) {
				if resumed {
					s.Resumed()
				}
			})
		})
		p := DefaultPolicy()
		var hourly []*clockSource
		for i := range 20 {
			src := &clockSource{clk: clk, life: time.Hour}
			hourly = append(hourly, src)
			r := New(fmt.Sprint("p", i), src, Options{Policy: p, Clock: clk, Jitter: func() float64 { return 0 }})
			r.Start(s)
			if _, err := r.Current(ctx); err != nil {
				t.Fatal(err)
			}
		}
		long := &clockSource{clk: clk, life: 8 * time.Hour}
		lr := New("long", long, Options{Policy: p, Clock: clk, Jitter: func() float64 { return 0 }})
		lr.Start(s)
		if _, err := lr.Current(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		clk.Suspend(2 * time.Hour)
		resumed := t0.Add(2 * time.Hour)
		// The first check after the resume, then ResumeSpread in seconds.
		for range 30 + int(ResumeSpread/time.Second) {
			clk.Advance(time.Second)
			synctest.Wait()
		}
		distinct := map[time.Time]bool{}
		for i, src := range hourly {
			at := src.calls()
			if len(at) != 2 {
				t.Fatalf("profile p%d: %d fetches after the sleep, want 1", i, len(at)-1)
			}
			if lag := at[1].Sub(resumed); lag < 0 || lag > 30*time.Second+ResumeSpread {
				t.Errorf("profile p%d refreshed %s after the resume, want within the first check and %s", i, lag, ResumeSpread)
			}
			distinct[at[1]] = true
		}
		if len(distinct) < 5 {
			t.Errorf("the 20 refreshes after the resume came at %d distinct moments: a storm, not spread", len(distinct))
		}
		if n := len(long.calls()); n != 1 {
			t.Errorf("the 8h profile was fetched %d times, want once", n)
		}
		// Its refresh point is 7h40m on the wall clock, not 7h40m of timer
		// time. (Moved a minute at a time: one leap would look like a
		// sleep to the detector.)
		for clk.Now().Before(t0.Add(7*time.Hour + 40*time.Minute)) {
			clk.Advance(time.Minute)
			synctest.Wait()
		}
		point := t0.Add(7*time.Hour + 40*time.Minute)
		if at := long.calls(); len(at) != 2 || at[1].Before(point) || at[1].After(point.Add(time.Minute)) {
			t.Errorf("8h profile fetched at %v, want a refresh at 7h40m (within the minute steps)", at)
		}
	})
}
