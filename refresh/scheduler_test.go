package refresh

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credd/credd/clock"
)

// countingTask steps by next(n, now) and records every step.
type countingTask struct {
	clk     clock.Clock
	next    func(n int, now time.Time) time.Time
	block   chan struct{} // if set, each step waits on it (or ctx)
	mu      sync.Mutex
	steps   []time.Time
	now     atomic.Int32 // steps under way
	most    atomic.Int32 // the most ever at once
	stopped []error
}

func (c *countingTask) Step(ctx context.Context) time.Time {
	if n := c.now.Add(1); n > c.most.Load() {
		c.most.Store(n)
	}
	defer c.now.Add(-1)
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return time.Time{}
		}
	}
	now := c.clk.Now()
	c.mu.Lock()
	c.steps = append(c.steps, now)
	n := len(c.steps)
	c.mu.Unlock()
	if c.next == nil {
		return time.Time{}
	}
	return c.next(n, now)
}

func (c *countingTask) Stopped(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = append(c.stopped, err)
}

func (c *countingTask) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.steps)
}

func (c *countingTask) at() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.steps...)
}

// every returns a next function stepping every d.
func every(d time.Duration) func(int, time.Time) time.Time {
	return func(_ int, now time.Time) time.Time { return now.Add(d) }
}

// runScheduler runs s until the test ends.
func runScheduler(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// schedulerGoroutines counts the goroutines running the Scheduler's code
// (its loop, and steps under way) in this process.
func schedulerGoroutines() int {
	buf := make([]byte, 8<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "refresh.(*Scheduler)") {
			n++
		}
	}
	return n
}

func TestSchedulerStepsEachTaskAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		s := NewScheduler(clk, nil)
		runScheduler(t, s)
		tasks := map[time.Duration]*countingTask{}
		for _, d := range []time.Duration{10 * time.Minute, 25 * time.Minute, time.Hour} {
			c := &countingTask{clk: clk, next: every(d)}
			tasks[d] = c
			s.Add(c).Poke()
		}
		synctest.Wait()
		for d, c := range tasks {
			if n := c.count(); n != 1 {
				t.Fatalf("task every %s: %d steps after its poke, want 1", d, n)
			}
		}
		for range 12 { // two hours in 10-minute moves
			clk.Advance(10 * time.Minute)
			synctest.Wait()
		}
		for d, c := range tasks {
			want := 1 + int(2*time.Hour/d)
			if n := c.count(); n != want {
				t.Errorf("task every %s: %d steps in 2h, want %d", d, n, want)
			}
			for i, at := range c.at() {
				if i > 0 && at.Sub(c.at()[i-1]) < d {
					t.Errorf("task every %s stepped after %s", d, at.Sub(c.at()[i-1]))
				}
			}
		}
	})
}

// TestSchedulerIdleTasksCostNoGoroutine: a thousand tasks waiting for
// their deadline cost the scheduler's one goroutine, not one each.
func TestSchedulerIdleTasksCostNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		s := NewScheduler(clk, nil)
		runScheduler(t, s)
		var tasks []*countingTask
		for range 1000 {
			c := &countingTask{clk: clk, next: every(time.Hour)}
			tasks = append(tasks, c)
			s.Add(c).Poke()
		}
		synctest.Wait()
		if n := schedulerGoroutines(); n != 1 {
			t.Errorf("%d goroutines for 1000 waiting tasks, want 1 (the scheduler's)", n)
		}
		clk.Advance(time.Hour)
		synctest.Wait()
		for i, c := range tasks {
			if c.count() != 2 {
				t.Fatalf("task %d: %d steps, want 2", i, c.count())
			}
		}
		if n := schedulerGoroutines(); n != 1 {
			t.Errorf("%d goroutines after the steps, want 1", n)
		}
	})
}

// TestSchedulerStepsATaskOneAtATime: pokes while a step runs make one
// more step after it, never a second one beside it.
func TestSchedulerStepsATaskOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		s := NewScheduler(clk, nil)
		runScheduler(t, s)
		c := &countingTask{clk: clk, block: make(chan struct{})}
		h := s.Add(c)
		h.Poke()
		synctest.Wait()
		for range 100 {
			h.Poke()
		}
		synctest.Wait()
		close(c.block)
		synctest.Wait()
		if c.most.Load() != 1 {
			t.Errorf("%d steps of one task at once, want 1", c.most.Load())
		}
		if n := c.count(); n != 2 {
			t.Errorf("%d steps for a poke and 100 pokes during it, want 2", n)
		}
	})
}

// TestSchedulerPokeBeforeRun: a task poked before the scheduler runs
// steps once it does.
func TestSchedulerPokeBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		s := NewScheduler(clk, nil)
		c := &countingTask{clk: clk}
		h := s.Add(c)
		h.Poke()
		h.Poke()
		synctest.Wait()
		if c.count() != 0 {
			t.Fatal("stepped before Run")
		}
		runScheduler(t, s)
		synctest.Wait()
		if n := c.count(); n != 1 {
			t.Errorf("%d steps, want 1", n)
		}
	})
}

func TestSchedulerStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		s := NewScheduler(clk, nil)
		runScheduler(t, s)
		c := &countingTask{clk: clk, block: make(chan struct{}), next: every(time.Minute)}
		h := s.Add(c)
		h.Poke()
		synctest.Wait()
		h.Stop() // cancels the blocked step and waits for it
		if c.now.Load() != 0 {
			t.Fatal("Stop returned with the step still running")
		}
		h.Poke()
		clk.Advance(time.Hour)
		synctest.Wait()
		if n := c.count(); n != 0 {
			t.Errorf("%d steps after Stop", n)
		}
		h.Stop() // again: nothing more
		if len(c.stopped) != 1 || !errors.Is(c.stopped[0], context.Canceled) {
			t.Errorf("Stopped calls %v, want one with context.Canceled", c.stopped)
		}
		if n := s.Len(); n != 0 {
			t.Errorf("the scheduler holds %d tasks after Stop", n)
		}
	})
}

// TestSchedulerRunEndStopsEveryTask: when Run's context ends, every task
// hears it once, running or waiting, and a task added later is stopped
// at once.
func TestSchedulerRunEndStopsEveryTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		s := NewScheduler(clk, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = s.Run(ctx); close(done) }()
		running := &countingTask{clk: clk, block: make(chan struct{})}
		waiting := &countingTask{clk: clk, next: every(time.Hour)}
		s.Add(running).Poke()
		s.Add(waiting).Poke()
		synctest.Wait()
		cancel()
		<-done
		for name, c := range map[string]*countingTask{"running": running, "waiting": waiting} {
			if len(c.stopped) != 1 || !errors.Is(c.stopped[0], context.Canceled) {
				t.Errorf("%s task: Stopped calls %v, want one with context.Canceled", name, c.stopped)
			}
		}
		late := &countingTask{clk: clk}
		s.Add(late).Poke()
		synctest.Wait()
		if late.count() != 0 || len(late.stopped) != 1 {
			t.Errorf("a task added after Run: %d steps, Stopped %v; want none, and stopped", late.count(), late.stopped)
		}
	})
}

// TestSchedulerResumed: the machine sleeps two hours (wall time moves on,
// timers do not count it). On resume, the tasks whose deadline passed
// meanwhile step at once, each once, spread over ResumeSpread; the one
// whose deadline lies ahead keeps it, timed from the wall clock.
func TestSchedulerResumed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewFake(t0)
		jitters := []float64{0.25, 0.75, 0.5}
		var mu sync.Mutex
		s := NewScheduler(clk, func() float64 {
			mu.Lock()
			defer mu.Unlock()
			j := jitters[0]
			jitters = jitters[1:]
			return j
		})
		runScheduler(t, s)
		due := map[string]*countingTask{}
		for name, d := range map[string]time.Duration{"10m": 10 * time.Minute, "90m": 90 * time.Minute, "3h": 3 * time.Hour} {
			c := &countingTask{clk: clk, next: func(n int, now time.Time) time.Time {
				if n == 1 {
					return t0.Add(d) // a deadline on the wall clock
				}
				return now.Add(8 * time.Hour)
			}}
			due[name] = c
			s.Add(c).Poke()
		}
		synctest.Wait()
		clk.Suspend(2 * time.Hour)
		synctest.Wait()
		for name, c := range due {
			if c.count() != 1 {
				t.Fatalf("%s: stepped during the sleep", name)
			}
		}
		s.Resumed()
		synctest.Wait()
		for range ResumeSpread / time.Second {
			clk.Advance(time.Second)
			synctest.Wait()
		}
		resumed := t0.Add(2 * time.Hour)
		for _, name := range []string{"10m", "90m"} {
			at := due[name].at()
			if len(at) != 2 {
				t.Fatalf("%s: %d steps; want one more, right after the resume", name, len(at)-1)
			}
			if lag := at[1].Sub(resumed); lag < 0 || lag > ResumeSpread {
				t.Errorf("%s: stepped %s after the resume, want within %s", name, lag, ResumeSpread)
			}
		}
		if a, b := due["10m"].at()[1], due["90m"].at()[1]; a.Equal(b) {
			t.Errorf("both due tasks stepped at %s: not spread", a)
		}
		if n := due["3h"].count(); n != 1 {
			t.Fatalf("3h: %d steps at resume, want none yet", n-1)
		}
		// Its deadline is 3h on the wall clock: an hour after the resume,
		// not three hours of timer time after it was set.
		clk.Advance(time.Hour - ResumeSpread)
		synctest.Wait()
		if at := due["3h"].at(); len(at) != 2 || !at[1].Equal(t0.Add(3*time.Hour)) {
			t.Errorf("3h task steps %v, want its second at %s", at, t0.Add(3*time.Hour))
		}
		// Each once: nothing more until their next deadlines.
		clk.Advance(time.Hour)
		synctest.Wait()
		for name, c := range due {
			if n := c.count(); n != 2 {
				t.Errorf("%s: %d steps, want 2", name, n)
			}
		}
	})
}
