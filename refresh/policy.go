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
// expiry − min(Ahead, lifetime/2) − jitter, where jitter (0 ≤ jitter < 1)
// takes up to a tenth of that window. The window is never smaller than
// MinValid, so a refresh happens before the credentials stop being served.
// It is a pure function of its arguments.
func NextRefresh(fetched time.Time, c cred.Credentials, p Policy, jitter float64) time.Time {
	expires := c.Expires
	if expires.IsZero() {
		expires = fetched.Add(p.NoExpiryLifetime)
	}
	lifetime := expires.Sub(fetched)
	if lifetime <= 0 {
		return fetched
	}
	ahead := min(p.Ahead, lifetime/2)
	if ahead < p.MinValid {
		ahead = min(p.MinValid, lifetime)
	}
	window := ahead + time.Duration(float64(ahead)*maxJitterFraction*clamp01(jitter))
	at := expires.Add(-window)
	if at.Before(fetched) {
		return fetched
	}
	return at
}

// Backoff is the delay before retry number failures (1 for the first
// failure): BackoffMin doubled per failure, capped at BackoffMax, and then
// spread by jitter (0 ≤ jitter < 1) over its upper half ("equal jitter").
func Backoff(failures int, p Policy, jitter float64) time.Duration {
	d := p.BackoffMin
	for i := 1; i < failures && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	return d/2 + time.Duration(float64(d/2)*clamp01(jitter))
}

func clamp01(f float64) float64 {
	return max(0, min(f, 0.999999))
}

// randJitter is the production jitter source.
func randJitter() float64 { return rand.Float64() }
