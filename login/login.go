// Package login owns sign-in sessions: the tokens an identity provider
// issues (IAM Identity Center or any OpenID Connect provider), their
// renewal with refresh tokens ahead of expiry, their persistence in the
// session store, and the sign-in flows — authorization code with PKCE
// through a loopback redirect (RFC 8252), and device authorization
// (RFC 8628). However many callers need a session signed in, one flow runs
// per session and every waiter gets its result.
//
// Provider specifics live behind Method; this package knows none of them.
//
// A Session renews with the parts of package refresh, so that a fix to
// timing is made once: refresh.RenewAt says when (RenewAhead before
// expiry, half the lifetime for short-lived tokens), refresh.Backoff how
// long after a failure, a refresh.Flight collapses concurrent renewals
// into one call, and the daemon's one refresh.Scheduler owns the wake-ups.
// It is not a refresh.Refresher over Tokens, because a session's life is
// not a profile's:
//   - it renews whether or not anyone asks (the AWS CLI's cache stays
//     valid, and a refused refresh token is found and told at once); a
//     Refresher goes dormant when its profile is idle.
//   - a refusal is final: the session needs a sign-in and stops renewing,
//     where a Refresher retries every failure and serves what it holds.
//   - its tokens change from outside the loop (a sign-in flow, a logout,
//     the store at start), so a renewal lands only on the version it began
//     from; a Refresher's credentials come from its own fetches alone.
//   - a renewal needs the tokens it replaces (the refresh token, kept when
//     the provider sends none back), and every change is stored, in order.
package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Tokens is what a sign-in yields.
type Tokens struct {
	AccessToken  string    `json:"access_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry"` // of the access or ID token
	// RefreshExpiry is when the refresh token (the session) ends, if known.
	RefreshExpiry time.Time `json:"refresh_expiry,omitzero"`
	// Extra holds provider state that must survive restarts (Identity
	// Center's client registration, say).
	Extra map[string]string `json:"extra,omitempty"`
}

// String never shows a token.
func (t Tokens) String() string {
	return fmt.Sprintf("tokens{expiry=%s refresh=%v}", t.Expiry.UTC().Format(time.RFC3339), t.RefreshToken != "")
}

// Format covers every fmt verb.
func (t Tokens) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// LogValue keeps tokens out of logs, JSON handlers included.
func (t Tokens) LogValue() slog.Value { return slog.StringValue(t.String()) }

// DeviceStart is what a user needs to approve a device sign-in.
type DeviceStart struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	Expires                 time.Time
	Interval                time.Duration
}

// Method is one identity provider's protocol.
type Method interface {
	// Kind names the session kind in the store: "sso" or "oidc".
	Kind() string
	// AuthCodeURL starts a browser sign-in that will come back to
	// redirectURI; exchange trades the returned code for tokens.
	AuthCodeURL(ctx context.Context, redirectURI, state string) (authURL string, exchange func(ctx context.Context, code string) (Tokens, error), err error)
	// StartDevice begins a device sign-in; poll waits for its approval
	// (handling authorization_pending and slow_down).
	StartDevice(ctx context.Context) (DeviceStart, func(ctx context.Context) (Tokens, error), error)
	// Refresh renews tokens with the refresh token. An error wrapping
	// cred.ErrLoginRequired means only a new sign-in helps.
	Refresh(ctx context.Context, t Tokens) (Tokens, error)
}

// ErrFlowTimeout: the user did not finish the sign-in in time.
var ErrFlowTimeout = errors.New("sign-in was not completed in time")
