package e2e

import "errors"

// sighupSelf: Windows has no SIGHUP (credd reloads on `credd reload` and
// file changes there); the tests that use it do not run on Windows.
func sighupSelf() error { return errors.New("no SIGHUP on Windows") }
