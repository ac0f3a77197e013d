package refresh

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/credd/credd/clock"
)

// A Task is the work of one owner the Scheduler runs: a Refresher keeping
// a profile's credentials, a sign-in session renewing its tokens. Step
// runs when the task is due or poked, never two at once for one task (the
// task is the single owner of its upstream); it does what is due and
// returns when the task is next due, zero for "not until poked".
// Stopped is called once, after the last Step, with why the task stopped
// (the scheduler's context ended, or Stop).
type Task interface {
	Step(ctx context.Context) (next time.Time)
	Stopped(err error)
}

// ResumeSpread is how far apart in time, at most, the tasks found due
// after the machine resumed from sleep are started: each at a random
// point within it, so hundreds of profiles do not call upstream at once.
const ResumeSpread = 10 * time.Second

// Scheduler owns the wake-ups of many tasks: one goroutine and one timer,
// armed for the earliest deadline of a heap, whatever the number of
// tasks. A task costs a goroutine only while its Step runs; an idle one
// costs its entry. Deadlines are wall-clock times: after the machine
// slept (timers stop while it does), Resumed has every task that fell
// due meanwhile run at once, each once, spread over ResumeSpread.
type Scheduler struct {
	clock  clock.Clock
	jitter func() float64

	mu      sync.Mutex
	heap    deadlines
	ctx     context.Context // nil until Run; done after it
	wake    chan struct{}
	wg      sync.WaitGroup // running steps
	stopped bool           // Run returned
	all     map[*Handle]struct{}
}

// NewScheduler returns a scheduler on clk (nil: real time). jitter (nil:
// random) spreads the tasks due at a resume.
func NewScheduler(clk clock.Clock, jitter func() float64) *Scheduler {
	if jitter == nil {
		jitter = randJitter
	}
	return &Scheduler{clock: clock.Or(clk), jitter: jitter, wake: make(chan struct{}, 1), all: map[*Handle]struct{}{}}
}

// Handle is one task's place in a Scheduler.
type Handle struct {
	s    *Scheduler
	task Task

	// Guarded by s.mu.
	at      time.Time // when due (wall clock); zero: not scheduled
	index   int       // in s.heap; -1 when not in it
	running bool      // a Step is under way
	again   bool      // poked while running: step again
	stopped bool
	cancel  context.CancelFunc // of the running step
	idle    chan struct{}      // closed when a stopped task's last step ended
	isIdle  bool               // idle is closed
}

// Add registers t, not due until poked. Added to a scheduler whose Run
// returned, it is stopped at once.
func (s *Scheduler) Add(t Task) *Handle {
	h := &Handle{s: s, task: t, index: -1, idle: make(chan struct{})}
	s.mu.Lock()
	if s.stopped {
		h.stopped = true
		s.markIdle(h)
		s.mu.Unlock()
		t.Stopped(context.Canceled)
		return h
	}
	s.all[h] = struct{}{}
	s.mu.Unlock()
	return h
}

// Poke makes the task due now: it steps at once, or again right after
// the step under way. Pokes while it waits to step collapse into one.
func (h *Handle) Poke() {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case h.stopped:
	case h.running:
		h.again = true
	case s.ctx != nil:
		s.unschedule(h)
		s.start(h)
	default: // before Run: due as soon as it starts
		s.schedule(h, time.Time{}.Add(1))
	}
}

// Stop ends the task: a step under way is cancelled and waited for, the
// task hears Stopped(context.Canceled), and it never steps again.
func (h *Handle) Stop() {
	s := h.s
	s.mu.Lock()
	if h.stopped {
		s.mu.Unlock()
		<-h.idle
		return
	}
	h.stopped = true
	delete(s.all, h)
	s.unschedule(h)
	if h.running {
		h.cancel()
	} else {
		s.markIdle(h)
	}
	s.mu.Unlock()
	<-h.idle
	h.task.Stopped(context.Canceled)
}

// Resumed re-evaluates every deadline against the wall clock after the
// machine slept: the tasks that fell due meanwhile (their refresh point
// passed, or their credentials expired) are started within ResumeSpread,
// each at its own random point and once; the others keep their deadline,
// now timed from the wall clock again.
func (s *Scheduler) Resumed() {
	now := s.clock.Now().Round(0)
	s.mu.Lock()
	for _, h := range s.heap {
		if !h.at.After(now) {
			h.at = now.Add(time.Duration(float64(ResumeSpread) * clamp01(s.jitter())))
		}
	}
	heap.Init(&s.heap)
	s.mu.Unlock()
	s.poke()
}

// Run runs the tasks until ctx ends, then cancels the steps under way,
// waits for them, and stops every task (Stopped with ctx's error).
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	for {
		s.mu.Lock()
		now := s.clock.Now().Round(0)
		for len(s.heap) > 0 && !s.heap[0].at.After(now) {
			h := heap.Pop(&s.heap).(*Handle)
			h.at = time.Time{}
			s.start(h)
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if len(s.heap) > 0 {
			timer = s.clock.NewTimer(s.heap[0].at.Sub(now))
			fire = timer.C()
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			break
		}
	}
	s.mu.Lock()
	s.stopped = true
	var all []*Handle
	for h := range s.all {
		h.stopped = true
		all = append(all, h)
	}
	clear(s.all)
	s.heap = nil
	s.mu.Unlock()
	s.wg.Wait() // every step saw ctx end
	s.mu.Lock()
	for _, h := range all {
		s.markIdle(h)
	}
	s.mu.Unlock()
	for _, h := range all {
		h.task.Stopped(ctx.Err())
	}
	return nil
}

// start runs h's step in a goroutine of its own, again while it was
// poked meanwhile, then schedules its next deadline. Called with s.mu
// held and s.ctx set.
func (s *Scheduler) start(h *Handle) {
	h.running, h.again = true, false
	ctx, cancel := context.WithCancel(s.ctx)
	h.cancel = cancel
	s.wg.Go(func() {
		defer cancel()
		for {
			next := h.task.Step(ctx)
			s.mu.Lock()
			switch {
			case h.stopped:
				h.running = false
				s.markIdle(h) // Stop waits for it
				s.mu.Unlock()
				return
			case h.again && ctx.Err() == nil:
				h.again = false
				s.mu.Unlock()
				continue
			}
			h.running, h.again = false, false
			if !next.IsZero() {
				s.schedule(h, next)
			}
			s.mu.Unlock()
			return
		}
	})
}

// schedule sets h's deadline, waking the loop when it is the earliest.
// Called with s.mu held.
func (s *Scheduler) schedule(h *Handle, at time.Time) {
	h.at = at.Round(0) // wall clock: a deadline survives the machine's sleep
	if h.index >= 0 {
		heap.Fix(&s.heap, h.index)
	} else {
		heap.Push(&s.heap, h)
	}
	if s.heap[0] == h {
		s.poke()
	}
}

// unschedule takes h out of the heap. Called with s.mu held.
func (s *Scheduler) unschedule(h *Handle) {
	if h.index >= 0 {
		heap.Remove(&s.heap, h.index)
	}
	h.at = time.Time{}
}

// markIdle says a stopped task will not step again. Called with s.mu
// held.
func (s *Scheduler) markIdle(h *Handle) {
	if !h.isIdle {
		h.isIdle = true
		close(h.idle)
	}
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Len is the number of tasks the scheduler holds.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all)
}

// deadlines is a min-heap of handles by deadline.
type deadlines []*Handle

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].at.Before(d[j].at) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].index, d[j].index = i, j
}
func (d *deadlines) Push(x any) {
	h := x.(*Handle)
	h.index = len(*d)
	*d = append(*d, h)
}
func (d *deadlines) Pop() any {
	old := *d
	h := old[len(old)-1]
	old[len(old)-1] = nil
	h.index = -1
	*d = old[:len(old)-1]
	return h
}
