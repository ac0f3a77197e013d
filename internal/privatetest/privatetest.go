// Package privatetest checks in tests that a file or directory credd made
// is its user's alone: on Unix by its mode, on Windows by its DACL read
// back (private.ReadAccess).
package privatetest

import "testing"

// Check fails t unless path is the user's alone: on Unix no group or
// other mode bits; on Windows a protected DACL whose one allowed entry
// is the user. Under wine, which keeps a Unix mode instead of a DACL and
// describes it with an extra entry for SYSTEM and none for Everyone when
// others have no mode bits, it is that.
func Check(t testing.TB, path string) {
	t.Helper()
	if err := Private(path); err != nil {
		t.Errorf("%s is not private: %v", path, err)
	}
}

// Private returns why path is not the user's alone (as Check judges it),
// or nil: for a test that something is not.
func Private(path string) error { return check(path) }
