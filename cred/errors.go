package cred

import (
	"errors"
	"fmt"
)

// The kinds of error every layer of credd shares. Sources, the refresher,
// sign-in sessions and the daemon wrap them with %w ("doing x: %w"); the
// edges tell them apart with errors.Is and map them in one place each: the
// imds package to HTTP statuses and error bodies, the control API to its
// "kind" field (so the kind survives the socket), and the CLI to exit
// codes. An error of none of these kinds is a runtime failure.
var (
	// ErrLoginRequired: only a new sign-in helps (no session, or the
	// identity provider refused it). The message of the error that wraps
	// it names the command to run.
	ErrLoginRequired = errors.New("sign-in required")
	// ErrMFARequired: the sign-in needed is an MFA code. It is a kind of
	// ErrLoginRequired: errors.Is(err, ErrLoginRequired) holds for it too,
	// so every edge that handles sign-ins handles it.
	ErrMFARequired error = &subKind{msg: "MFA code required", parent: ErrLoginRequired}
	// ErrUnknownProfile: no configured profile has that name.
	ErrUnknownProfile = errors.New("unknown profile")
	// ErrUnknownSession: no configured sign-in session has that name.
	ErrUnknownSession = errors.New("unknown session")
	// ErrInvalid: the request itself is wrong (an unknown console
	// destination, a malformed region); asking again the same way fails
	// again.
	ErrInvalid = errors.New("invalid request")
	// ErrConflict: the request conflicts with one under way (a device
	// sign-in asked for while a browser sign-in of the session waits).
	ErrConflict = errors.New("conflicts with a request under way")
	// ErrNotAvailable: no valid credentials can be had now; the wrapped
	// error says why. A retry may succeed.
	ErrNotAvailable = errors.New("credentials not available")
)

// Errorf makes an error of kind (one of the sentinels above) whose message
// is the formatted text alone, for a message that says more than the
// kind's name would ("no profile \"prod\"" rather than "unknown profile:
// no profile \"prod\""). A %w in format wraps a cause, as in fmt.Errorf.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

// kindError is an error of a kind with a message of its own.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// subKind is a sentinel that is also a kind of its parent.
type subKind struct {
	msg    string
	parent error
}

func (e *subKind) Error() string { return e.msg }
func (e *subKind) Unwrap() error { return e.parent }

// errorKinds name the kinds, most specific first: an error of several
// kinds (credentials not available because a sign-in is required) is of
// the first that matches.
var errorKinds = []struct {
	name string
	err  error
}{
	{"mfa-required", ErrMFARequired},
	{"login-required", ErrLoginRequired},
	{"unknown-profile", ErrUnknownProfile},
	{"unknown-session", ErrUnknownSession},
	{"invalid", ErrInvalid},
	{"conflict", ErrConflict},
	{"not-available", ErrNotAvailable},
}

// KindOf names the kind of err ("login-required", "unknown-profile", …),
// or "" when it is of none of them. The name is what crosses process
// boundaries (the control API's "kind" field); KindError turns it back.
func KindOf(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return ""
}

// KindError is the sentinel that KindOf names name, or nil.
func KindError(name string) error {
	for _, k := range errorKinds {
		if k.name == name {
			return k.err
		}
	}
	return nil
}
