//go:build unix

package control

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// prepareDir: see PrepareDir.
func prepareDir(dir string) (was fs.FileMode, tightened bool, err error) {
	restore := privateUmask()
	err = os.MkdirAll(dir, 0o700)
	restore()
	if err != nil {
		return 0, false, fmt.Errorf("creating state dir %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, false, fmt.Errorf("state dir: %w", err)
	}
	if !fi.IsDir() {
		return 0, false, fmt.Errorf("state dir %s is not a directory: remove it or set another state_dir", dir)
	}
	was = fi.Mode().Perm()
	if was&0o077 == 0 {
		return was, false, nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return was, false, fmt.Errorf("state dir %s (mode %04o) is open to group or others and belongs to user %d, not to this one: have its owner run `chmod 700 %s`, or set another state_dir", dir, was, st.Uid, dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return was, false, fmt.Errorf("state dir %s (mode %04o) is open to group or others and could not be made private (%w): run `chmod 700 %s`, or set another state_dir", dir, was, err, dir)
	}
	return was, true, nil
}

// checkDir refuses a state dir that group or others may access.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("state dir %s (mode %04o) is open to group or others: run `chmod 700 %s`", dir, perm, dir)
	}
	return nil
}
