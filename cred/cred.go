// Package cred owns the credential value that flows from a source, through a
// refresher, to the endpoints, and the kinds of error every layer shares
// (errors.go). The type redacts itself wherever it could be printed or
// logged, so a secret cannot reach a log line by accident.
package cred

import (
	"fmt"
	"log/slog"
	"time"
)

// Kind says how a set of credentials was obtained. Console sign-in cares:
// only first-hop role credentials may ask for a longer console session.
type Kind string

const (
	KindUnknown        Kind = ""
	KindRole           Kind = "role"              // first hop: AssumeRole*, Identity Center
	KindChainedRole    Kind = "chained-role"      // AssumeRole signed with role credentials
	KindSessionToken   Kind = "session-token"     // GetSessionToken from IAM user keys
	KindFederation     Kind = "federation"        // GetFederationToken
	KindExternal       Kind = "external"          // resolved by the AWS SDK (aws_profile)
	KindLongTermIAMKey Kind = "long-term-iam-key" // never served to clients
)

// Credentials is one set of AWS credentials. It is a value: copies are
// independent, and nothing mutates a Credentials after a source returns it.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expires         time.Time // zero: the source gave no expiry
	Issued          time.Time // when credd received them
	AccountID       string
	RoleARN         string
	Kind            Kind
	Source          string // what produced them, for status and logs (e.g. "assume-role")
}

// Temporary reports whether these are session credentials. Long-term IAM
// user keys have no session token.
func (c Credentials) Temporary() bool { return c.SessionToken != "" }

// ValidAt reports whether the credentials may still be handed out at now,
// keeping margin of remaining life.
func (c Credentials) ValidAt(now time.Time, margin time.Duration) bool {
	if c.AccessKeyID == "" {
		return false
	}
	return c.Expires.IsZero() || c.Expires.Sub(now) > margin
}

// String never shows a secret: only the access key ID's last four characters.
func (c Credentials) String() string {
	return fmt.Sprintf("credentials{key=%s expires=%s kind=%s}", maskKey(c.AccessKeyID), formatExpiry(c.Expires), c.Kind)
}

// GoString covers %#v, which would otherwise print every field.
func (c Credentials) GoString() string { return c.String() }

// Format covers every fmt verb, including %+v and %v inside other structs.
func (c Credentials) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.String()) }

// LogValue makes slog print the redacted form.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("key", maskKey(c.AccessKeyID)),
		slog.String("expires", formatExpiry(c.Expires)),
		slog.String("kind", string(c.Kind)),
	)
}

func maskKey(id string) string {
	if len(id) <= 4 {
		return "****"
	}
	return "****" + id[len(id)-4:]
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
