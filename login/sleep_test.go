package login_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credd/credd/login"
	"github.com/credd/credd/refresh"
)

// TestSessionRenewsAfterSleep: the laptop sleeps past a session's renewal
// point (and past its token's expiry). Timers do not count the sleep; on
// resume (the scheduler told, as the daemon's sleep detector does) the
// session renews at once, once, rather than 55 minutes of timer time
// after the renewal was planned; without the resume nothing happens yet.
func TestSessionRenewsAfterSleep(t *testing.T) {
	for _, resume := range []bool{true, false} {
		t.Run(fmt.Sprintf("resume told %v", resume), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var h *harness
				m := &fakeMethod{refresh: func(context.Context, login.Tokens) (login.Tokens, error) {
					return tokens("renewed", h.clock.Now().Add(time.Hour)), nil
				}}
				stored := tokens("old", t0.Add(time.Hour)) // renewal due at 55m
				h = newHarness(t, m, &stored, nil)
				sched := refresh.NewScheduler(h.clock, func() float64 { return 0.5 })
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { defer close(done); _ = sched.Run(ctx) }()
				defer func() { cancel(); <-done }()
				h.s.Start(sched)
				synctest.Wait()
				h.clock.Suspend(3 * time.Hour)
				if resume {
					sched.Resumed()
				}
				for range refresh.ResumeSpread / time.Second {
					synctest.Wait()
					h.clock.Advance(time.Second)
				}
				synctest.Wait()
				want := 0
				if resume {
					want = 1
				}
				if got, _, _ := m.calls(); got != want {
					t.Fatalf("%d renewals within %s of the resume, want %d", got, refresh.ResumeSpread, want)
				}
				if !resume {
					return
				}
				if tok, err := h.s.Tokens(t.Context()); err != nil || tok.AccessToken != "access-renewed" {
					t.Errorf("Tokens after the resume = %q, %v; want the renewed ones", tok.AccessToken, err)
				}
				// Next renewal: 55 minutes after this one, not sooner.
				h.clock.Advance(54 * time.Minute)
				synctest.Wait()
				if got, _, _ := m.calls(); got != 1 {
					t.Errorf("%d renewals 54 minutes later, want still 1", got)
				}
			})
		})
	}
}
