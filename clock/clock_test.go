package clock_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credd/credd/clock"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func TestFakeSuspend(t *testing.T) {
	f := clock.NewFake(t0)
	tm := f.NewTimer(time.Minute)
	f.Suspend(time.Hour)
	if got := f.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Now after a 1h suspend = %s", got)
	}
	select {
	case <-tm.C():
		t.Fatal("a timer fired during the suspend")
	default:
	}
	f.Advance(59 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired before a minute of timer time")
	default:
	}
	f.Advance(time.Second)
	select {
	case <-tm.C():
	default:
		t.Fatal("did not fire after a minute of timer time")
	}
}

// TestWatchSleep: checks while awake report no resume; the first check
// after a suspend reports one, once.
func TestWatchSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := clock.NewFake(t0)
		var mu sync.Mutex
		var got []bool
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			clock.WatchSleep(ctx, f, time.Minute, func(resumed bool) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, resumed)
			})
		}()
		step := func(advance, suspend time.Duration) {
			synctest.Wait()
			f.Suspend(suspend)
			f.Advance(advance)
			synctest.Wait()
		}
		step(time.Minute, 0)
		step(time.Minute, 0)
		step(30*time.Second, 0) // between checks
		step(30*time.Second, 0)
		step(time.Minute, 90*time.Second) // a nap longer than the check allows
		step(time.Minute, 0)
		step(time.Minute, 8*time.Hour)
		cancel()
		<-done
		want := []bool{false, false, false, true, false, true}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != len(want) {
			t.Fatalf("checks %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("checks %v, want %v", got, want)
			}
		}
	})
}

func TestFakeNext(t *testing.T) {
	f := clock.NewFake(t0)
	if _, ok := f.Next(); ok {
		t.Fatal("Next with no timer pending")
	}
	a := f.NewTimer(time.Hour)
	f.NewTimer(time.Minute)
	if at, ok := f.Next(); !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Next = %v, %v; want the minute timer", at, ok)
	}
	f.Advance(time.Minute)
	if at, ok := f.Next(); !ok || !at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after the minute: Next = %v, %v; want the hour timer", at, ok)
	}
	a.Stop()
	if _, ok := f.Next(); ok {
		t.Fatal("Next after every timer fired or stopped")
	}
}
