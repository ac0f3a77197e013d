//go:build windows

package awsfile

import (
	"os"
)

// openChecked opens the file at path. Windows has no owner and mode bits
// to check: files under the user's profile inherit an ACL that admits only
// the user (and SYSTEM and Administrators), and credd does not read ACLs
// (docs/security.md). The other checks of read (a regular file, its size
// and content) apply.
func openChecked(path string) (*os.File, error) { return os.Open(path) }

// checkDir is CheckDir but for the effect: on Windows, that path is a
// directory (its ACL is not read, as openChecked says).
func checkDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &RefusedError{Path: path, Reason: "it is not a directory (" + fileType(fi.Mode()) + ")", Fix: "remove it, or point AWS_LOGIN_CACHE_DIRECTORY at a directory of your own"}
	}
	return nil
}
