//go:build windows

package awsfile

import "os"

// openChecked opens the file at path. Windows has no owner and mode bits
// to check: files under the user's profile inherit an ACL that admits only
// the user (and SYSTEM and Administrators), and credd does not read ACLs
// (docs/security.md). The other checks of read (a regular file, its size
// and content) apply.
func openChecked(path string) (*os.File, error) { return os.Open(path) }
