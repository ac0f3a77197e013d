package refresh

import (
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestNextRefresh(t *testing.T) {
	p := DefaultPolicy() // ahead 20m, min valid 1m, no-expiry lifetime 1h
	for _, tc := range []struct {
		name    string
		fetched time.Time
		expires time.Time // zero: no expiry
		ahead   time.Duration
		jitter  float64
		want    time.Time
	}{
		{"1h credentials refresh 20m ahead", t0, t0.Add(time.Hour), 20 * time.Minute, 0, t0.Add(40 * time.Minute)},
		{"jitter takes up to a tenth more of the window", t0, t0.Add(time.Hour), 20 * time.Minute, 0.5, t0.Add(39 * time.Minute)},
		{"jitter near 1 stays inside the window", t0, t0.Add(time.Hour), 20 * time.Minute, 1, t0.Add(38*time.Minute + 12*time.Millisecond/100)},
		{"15m credentials: ahead capped at half the lifetime", t0, t0.Add(15 * time.Minute), 20 * time.Minute, 0, t0.Add(7*time.Minute + 30*time.Second)},
		{"12h credentials keep the configured ahead", t0, t0.Add(12 * time.Hour), 20 * time.Minute, 0, t0.Add(11*time.Hour + 40*time.Minute)},
		{"short life: refresh before the last minute", t0, t0.Add(90 * time.Second), 20 * time.Minute, 0, t0.Add(30 * time.Second)},
		{"lifetime under a minute: refresh at once", t0, t0.Add(30 * time.Second), 20 * time.Minute, 0, t0},
		{"already expired: refresh at once", t0, t0.Add(-time.Minute), 20 * time.Minute, 0, t0},
		{"no expiry: treated as an hour", t0, time.Time{}, 20 * time.Minute, 0, t0.Add(40 * time.Minute)},
		{"small ahead is honoured", t0, t0.Add(time.Hour), 5 * time.Minute, 0, t0.Add(55 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.Ahead = tc.ahead
			got := NextRefresh(tc.fetched, cred.Credentials{Expires: tc.expires}, p, tc.jitter)
			if d := got.Sub(tc.want); d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("NextRefresh = %s, want %s", got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
			}
			if !tc.expires.IsZero() && tc.expires.Sub(tc.fetched) > p.MinValid && tc.expires.Sub(got) < p.MinValid {
				t.Errorf("refresh at %s leaves less than MinValid before expiry %s", got, tc.expires)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	p := DefaultPolicy() // 2s .. 5m
	for _, tc := range []struct {
		name     string
		failures int
		jitter   float64
		want     time.Duration
	}{
		{"first failure, no jitter: half of 2s", 1, 0, time.Second},
		{"first failure, full jitter: just under 2s", 1, 1, 2 * time.Second},
		{"third failure doubles twice", 3, 0, 4 * time.Second},
		{"capped at BackoffMax", 20, 0, 150 * time.Second},
		{"capped with jitter stays under BackoffMax", 50, 1, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Backoff(tc.failures, p, tc.jitter)
			if d := got - tc.want; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("Backoff(%d, jitter %v) = %s, want %s", tc.failures, tc.jitter, got, tc.want)
			}
			if got > p.BackoffMax {
				t.Errorf("Backoff exceeds max: %s", got)
			}
		})
	}
}
