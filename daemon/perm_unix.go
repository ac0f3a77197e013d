//go:build !windows

package daemon

import (
	"os"

	"github.com/credd/credd/private"
	"github.com/credd/credd/store"
)

// CheckPrivate refuses a file that group or others may write, or that
// another user owns, with an *store.InsecureFileError (errors.Is
// ErrInsecureFile) that says what fixes it.
func CheckPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if owner, foreign := private.Foreign(fi); foreign {
		return &store.InsecureFileError{Path: path, Mode: uint32(perm), Owner: owner, Fix: "credd trusts only its own user's files: replace it with a copy of your own"}
	}
	if perm&0o022 != 0 {
		return &store.InsecureFileError{Path: path, Mode: uint32(perm), Fix: "chmod go-w " + path}
	}
	return nil
}
