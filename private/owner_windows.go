//go:build windows

package private

import "io/fs"

// Foreign is always false on Windows: a file's ACL, not its owner, says
// who may change it, and files under the user's profile inherit an ACL
// that admits only the user (and SYSTEM and Administrators).
func Foreign(fs.FileInfo) (owner string, foreign bool) { return "", false }
