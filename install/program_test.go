package install

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestProgram(t *testing.T) {
	boom := errors.New("listen: address in use")
	for _, tc := range []struct {
		name     string
		run      func(ctx context.Context) error
		wantStop error // errors.Is
		wantErr  error
	}{
		{"stops when cancelled", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, nil, nil},
		{"drains before returning", func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(3 * time.Second) // in-flight requests
			return nil
		}, nil, nil},
		{"stop reports the daemon's failure", func(ctx context.Context) error { <-ctx.Done(); return boom }, boom, boom},
		{"stop gives up after the timeout", func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(time.Hour) // ignores cancellation
			return nil
		}, ErrStopTimeout, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var running atomic.Bool
				p := NewProgram(func(ctx context.Context) error {
					running.Store(true)
					return tc.run(ctx)
				}, 15*time.Second)
				start := time.Now()
				if err := p.Start(nil); err != nil {
					t.Fatal(err)
				}
				if time.Since(start) != 0 {
					t.Errorf("Start blocked for %s", time.Since(start))
				}
				synctest.Wait()
				if !running.Load() {
					t.Fatal("the daemon did not start")
				}
				if err := p.Start(nil); err == nil {
					t.Error("a second Start succeeded")
				}
				err := p.Stop(nil)
				if (tc.wantStop == nil) != (err == nil) || (tc.wantStop != nil && !errors.Is(err, tc.wantStop)) {
					t.Errorf("Stop = %v, want %v", err, tc.wantStop)
				}
				if tc.wantStop == ErrStopTimeout {
					if time.Since(start) != 15*time.Second {
						t.Errorf("Stop waited %s, want the 15s timeout", time.Since(start))
					}
					<-p.Done() // the stuck daemon ends after the bubble's fake hour
					return
				}
				<-p.Done()
				if err := p.Err(); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Errorf("Err = %v, want %v", err, tc.wantErr)
				}
			})
		})
	}
}

func TestProgramStopBeforeStart(t *testing.T) {
	p := NewProgram(func(context.Context) error { return nil }, time.Second)
	if err := p.Stop(nil); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
}

func TestSupervise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var mu sync.Mutex // the race detector does not know the bubble's order
		var runs []time.Time
		var waits []time.Duration
		began := time.Now()
		done := make(chan error)
		go func() {
			done <- Supervise(ctx, func(ctx context.Context) error {
				mu.Lock()
				runs = append(runs, time.Now())
				n := len(runs)
				mu.Unlock()
				switch n {
				case 4: // a long healthy run resets the backoff
					time.Sleep(2 * time.Minute)
					return errors.New("crashed after a while")
				case 6:
					<-ctx.Done()
					return ctx.Err()
				}
				return errors.New("port in use")
			}, func(err error, wait time.Duration) { waits = append(waits, wait) })
		}()
		for {
			mu.Lock()
			n := len(runs)
			mu.Unlock()
			if n >= 6 {
				break
			}
			time.Sleep(time.Second)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Supervise = %v after cancel, want nil", err)
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second, 2 * time.Second}
		if len(waits) != len(want) {
			t.Fatalf("waits %v, want %v", waits, want)
		}
		for i := range want {
			if waits[i] != want[i] {
				t.Errorf("waits %v, want %v", waits, want)
				break
			}
		}
		if runs[0] != began {
			t.Errorf("the first run waited %s", runs[0].Sub(began))
		}
	})
}
