//go:build windows

package daemon

// CheckPrivate is a no-op on Windows: files under %LocalAppData% inherit an
// ACL that gives only the user (and SYSTEM/Administrators) access, and Unix
// mode bits say nothing about it.
func CheckPrivate(path string) error { return nil }
