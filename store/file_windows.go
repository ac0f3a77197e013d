//go:build windows

package store

import (
	"io/fs"
	"os"
)

func openEntry(path string) (*os.File, error) { return os.Open(path) }

// checkPrivate does nothing on Windows: files under %LocalAppData% inherit
// an ACL that gives only the user (and SYSTEM, Administrators) access, and
// Unix mode bits say nothing about it.
func checkPrivate(path string, fi fs.FileInfo, mode string) error { return nil }
