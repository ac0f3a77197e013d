//go:build unix

package privatetest

import (
	"fmt"
	"os"
)

func check(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("mode %04o", perm)
	}
	return nil
}
