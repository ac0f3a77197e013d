//go:build !windows

package daemon

import (
	"fmt"
	"os"
)

// CheckPrivate refuses a file that group or others may write.
func CheckPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s (mode %04o): run `chmod go-w %s`", ErrInsecureFile, path, fi.Mode().Perm(), path)
	}
	return nil
}
