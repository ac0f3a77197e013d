package cred

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		kind string
		is   []error // sentinels it must match
	}{
		{"none", errors.New("connection reset"), "", nil},
		{"nil", nil, "", nil},
		{"sign-in required, wrapped", fmt.Errorf("profile dev: %w", ErrLoginRequired), "login-required", []error{ErrLoginRequired}},
		{"MFA is a kind of sign-in", fmt.Errorf("profile dev: %w", ErrMFARequired), "mfa-required", []error{ErrMFARequired, ErrLoginRequired}},
		{"not available because a sign-in is required", fmt.Errorf("%w: profile dev: %w", ErrNotAvailable, ErrLoginRequired), "login-required", []error{ErrNotAvailable, ErrLoginRequired}},
		{"not available", fmt.Errorf("%w: profile dev: timeout", ErrNotAvailable), "not-available", []error{ErrNotAvailable}},
		{"unknown profile", fmt.Errorf("%w: %q", ErrUnknownProfile, "prod"), "unknown-profile", []error{ErrUnknownProfile}},
		{"unknown session", Errorf(ErrUnknownSession, "no session %q", "corp"), "unknown-session", []error{ErrUnknownSession}},
		{"invalid", Errorf(ErrInvalid, "bad region"), "invalid", []error{ErrInvalid}},
		{"conflict", Errorf(ErrConflict, "a browser sign-in is under way"), "conflict", []error{ErrConflict}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.kind {
				t.Errorf("KindOf = %q, want %q", got, tc.kind)
			}
			for _, s := range tc.is {
				if !errors.Is(tc.err, s) {
					t.Errorf("errors.Is(%v, %v) = false", tc.err, s)
				}
			}
			if tc.kind == "" {
				return
			}
			// The name crosses a process boundary and comes back as the
			// same sentinel.
			if k := KindError(tc.kind); k == nil || KindOf(k) != tc.kind {
				t.Errorf("KindError(%q) = %v, whose kind is %q", tc.kind, k, KindOf(k))
			}
		})
	}
	if KindError("no-such-kind") != nil {
		t.Error("KindError of an unknown name is not nil")
	}
	if errors.Is(ErrLoginRequired, ErrMFARequired) {
		t.Error("a sign-in required is not an MFA code required")
	}
}

// TestErrorfKeepsItsMessageAndCause: Errorf gives a kind without the
// kind's name in the message, and %w still wraps a cause.
func TestErrorfKeepsItsMessageAndCause(t *testing.T) {
	err := Errorf(ErrInvalid, "reading %s: %w", "x.json", fs.ErrNotExist)
	if err.Error() != "reading x.json: file does not exist" {
		t.Errorf("message = %q", err)
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v: not both of its kind and of its cause", err)
	}
	wrapped := fmt.Errorf("config init: %w", err)
	if KindOf(wrapped) != "invalid" {
		t.Errorf("wrapped once more: kind %q", KindOf(wrapped))
	}
}
