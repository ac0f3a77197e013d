package refresh

import (
	"math/rand/v2"
	"time"

	"github.com/credd/credd/cred"
)

// Policy holds the timing rules of a Refresher.
type Policy struct {
	// Ahead is how long before expiry to refresh, capped at half the
	// credentials' lifetime.
	Ahead time.Duration
	// MinValid is the least remaining life with which credentials are still
	// handed out. SDKs treat credentials close to expiry as expired.
	MinValid time.Duration
	// IdleAfter stops background refresh for a profile nobody asked for in
	// this long. The next request wakes it.
	IdleAfter time.Duration
	// BackoffMin and BackoffMax bound the retry delay after failures.
	BackoffMin, BackoffMax time.Duration
	// NoExpiryLifetime is how long credentials without an expiry (some
	// credential_process helpers) are kept before they are fetched again.
	NoExpiryLifetime time.Duration
	// FetchTimeout bounds one upstream call.
	FetchTimeout time.Duration
}

// DefaultPolicy is the policy of DESIGN.md: refresh 20 minutes ahead, never
// serve credentials with less than a minute left, go quiet after 12 hours.
func DefaultPolicy() Policy {
	return Policy{
		Ahead:            20 * time.Minute,
		MinValid:         time.Minute,
		IdleAfter:        12 * time.Hour,
		BackoffMin:       2 * time.Second,
		BackoffMax:       5 * time.Minute,
		NoExpiryLifetime: time.Hour,
		FetchTimeout:     time.Minute,
	}
}

// maxJitterFraction of the refresh window is spread randomly over
// refreshers so that many profiles (and many daemons) fetched at the same
// moment do not refresh at the same moment.
const maxJitterFraction = 0.1

// NextRefresh is when credentials fetched at fetched should be renewed:
// RenewAt with Policy.Ahead, never less than MinValid ahead, so a refresh
// happens before the credentials stop being served. Credentials without
// an expiry live NoExpiryLifetime. It is a pure function of its
// arguments.
func NextRefresh(fetched time.Time, c cred.Credentials, p Policy, jitter float64) time.Time {
	expires := c.Expires
	if expires.IsZero() {
		expires = fetched.Add(p.NoExpiryLifetime)
	}
	return RenewAt(fetched, expires, p.Ahead, p.MinValid, jitter)
}

// RenewAt is when something issued at issued and expiring at expires
// (credentials, a sign-in session's tokens) is renewed: expires −
// min(ahead, lifetime/2) − jitter, where jitter (0 ≤ jitter ≤ 1) takes up
// to a tenth of that window. The window is at least floor (but no more
// than the lifetime), and the point never before issued. A zero issued
// means the lifetime is unknown (tokens loaded from a store): ahead
// applies whole. It is the one "when next" rule of credd's renewals, a
// pure function of its arguments.
func RenewAt(issued, expires time.Time, ahead, floor time.Duration, jitter float64) time.Time {
	known := !issued.IsZero()
	lifetime := expires.Sub(issued)
	if known {
		if lifetime <= 0 {
			return issued
		}
		ahead = min(ahead, lifetime/2)
	}
	if ahead < floor {
		ahead = floor
		if known {
			ahead = min(ahead, lifetime)
		}
	}
	window := ahead + time.Duration(float64(ahead)*maxJitterFraction*clamp01(jitter))
	at := expires.Add(-window)
	if known && at.Before(issued) {
		return issued
	}
	return at
}

// Backoff is the delay before retry number failures (1 for the first
// failure): BackoffMin doubled per failure, capped at BackoffMax, and then
// spread by jitter (0 ≤ jitter ≤ 1) over its upper half ("equal jitter");
// jitter 1 is the whole delay. It is the one backoff of credd: refreshers,
// sign-in sessions and the service supervisor retry by it.
func Backoff(failures int, p Policy, jitter float64) time.Duration {
	d := p.BackoffMin
	for i := 1; i < failures && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	return d/2 + time.Duration(float64(d/2)*clamp01(jitter))
}

func clamp01(f float64) float64 {
	return max(0, min(f, 1))
}

// randJitter is the production jitter source.
func randJitter() float64 { return rand.Float64() }
