//go:build unix

package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/credd/credd/private"
)

// openEntry opens an entry for reading without following a symbolic link
// and without blocking on a FIFO planted in its place.
func openEntry(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: a symbolic link: credd does not follow links in its session dir; replace it with a regular file or remove it", err)
	}
	return f, err
}

// checkPrivate refuses a file or directory that group or others may
// write, or that another user owns.
func checkPrivate(path string, fi fs.FileInfo, mode string) error {
	perm := fi.Mode().Perm()
	if owner, foreign := private.Foreign(fi); foreign {
		return &InsecureFileError{Path: path, Mode: uint32(perm), Owner: owner, Fix: "credd reads only its own user's files"}
	}
	if perm&0o022 != 0 {
		return &InsecureFileError{Path: path, Mode: uint32(perm), Fix: "chmod " + mode + " " + shellQuote(path)}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
