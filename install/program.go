package install

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kardianos/service"

	"github.com/credd/credd/refresh"
)

// Program adapts a daemon's Run(ctx) to the kardianos/service contract:
// Start launches it and returns at once; Stop cancels it and waits for it
// to return, at most the stop timeout. The daemon code is the same one
// `credd serve` runs in the foreground.
type Program struct {
	run         func(ctx context.Context) error
	stopTimeout time.Duration
	done        chan struct{}

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	err     error
}

var _ service.Interface = (*Program)(nil)

// ErrStopTimeout is returned by Stop when the daemon did not return in time.
var ErrStopTimeout = errors.New("the daemon did not stop in time")

// NewProgram returns a Program that runs run.
func NewProgram(run func(ctx context.Context) error, stopTimeout time.Duration) *Program {
	return &Program{run: run, stopTimeout: stopTimeout, done: make(chan struct{})}
}

// Start launches the daemon in its own goroutine and returns at once.
func (p *Program) Start(service.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("already started")
	}
	p.started = true
	// The service manager, not a caller, owns this lifetime: Stop cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		err := p.run(ctx)
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
	}()
	return nil
}

// Stop cancels the daemon and waits for it to return, at most the stop
// timeout. It returns the daemon's error, if it failed.
func (p *Program) Stop(service.Service) error {
	p.mu.Lock()
	started, cancel := p.started, p.cancel
	p.mu.Unlock()
	if !started {
		return nil
	}
	cancel()
	t := time.NewTimer(p.stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.Err()
	case <-t.C:
		return fmt.Errorf("%w (waited %s)", ErrStopTimeout, p.stopTimeout)
	}
}

// Done is closed when the daemon has returned.
func (p *Program) Done() <-chan struct{} { return p.done }

// Err is the daemon's error once it has returned; a clean stop (context
// cancelled) is nil.
func (p *Program) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if errors.Is(p.err, context.Canceled) {
		return nil
	}
	return p.err
}

// ErrStoppedUnexpectedly is returned when the daemon ends on its own
// without an error under a service manager.
var ErrStoppedUnexpectedly = errors.New("the daemon stopped unexpectedly")

// RunManaged runs the daemon under the service control manager when
// Windows started this process as a service, and otherwise in the
// foreground until ctx ends (signals) — the way systemd, launchd and Task
// Scheduler run it.
//
// Under the service manager, a daemon that ends on its own makes
// RunManaged return its error at once, so that the process exits non-zero
// and the manager's recovery action restarts it.
func RunManaged(ctx context.Context, run func(ctx context.Context) error, stopTimeout time.Duration) error {
	if service.Interactive() {
		return run(ctx)
	}
	p := NewProgram(run, stopTimeout)
	s, err := service.New(p, WindowsService(Definition{}))
	if err != nil {
		return fmt.Errorf("connecting to the service manager: %w", err)
	}
	errc := make(chan error, 1)
	// s.Run returns after the manager's stop request has run p.Stop. When
	// the daemon ends first, the process exits with this goroutine still
	// blocked in the manager's dispatcher, which is what the manager counts
	// as a failure to recover from.
	go func() { errc <- s.Run() }()
	select {
	case err := <-errc:
		return err
	case <-p.Done():
		if err := p.Err(); err != nil {
			return err
		}
		return ErrStoppedUnexpectedly
	case <-ctx.Done():
		return p.Stop(nil)
	}
}

// Supervise runs run until ctx ends, running it again after it fails:
// after 1 s, doubling up to a minute, back to 1 s once a run lasted a
// minute. It is the restart-on-crash of service managers that have none
// for a process that exits with an error (Task Scheduler). onRestart, if
// not nil, hears about each failure and the wait before the next run.
func Supervise(ctx context.Context, run func(ctx context.Context) error, onRestart func(err error, wait time.Duration)) error {
	failures := 0
	for {
		began := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = ErrStoppedUnexpectedly
		}
		if time.Since(began) >= superviseBackoff.BackoffMax {
			failures = 0
		}
		failures++
		wait := refresh.Backoff(failures, superviseBackoff, 1)
		if onRestart != nil {
			onRestart(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// superviseBackoff is Supervise's wait before a run again: 1 s doubling
// up to a minute (refresh.Backoff, whole delays).
var superviseBackoff = refresh.Policy{BackoffMin: time.Second, BackoffMax: time.Minute}
