//go:build unix

package private

import (
	"errors"
	"io/fs"
	"os"
)

// MkdirAll is os.MkdirAll with mode 0700: on Windows, each directory it
// creates has a DACL that admits the user alone.
func MkdirAll(path string) error { return os.MkdirAll(path, 0o700) }

// CreateTemp is os.CreateTemp, whose files are 0600; on Windows the file
// is created with a DACL that admits the user alone.
func CreateTemp(dir, pattern string) (*os.File, error) { return os.CreateTemp(dir, pattern) }

// CreateIfMissing creates path as an empty file only the user may open
// (0600; on Windows with a DACL that admits the user alone), unless it
// exists (then it is left as it is).
func CreateIfMissing(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
