//go:build unix

package control

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/credd/credd/private"
)

// prepareDir: see PrepareDir. A real directory is opened without following
// links and tightened through that handle (fchmod), so no chmod ever goes
// through a symbolic link, not even one swapped in meanwhile. A symbolic
// link is accepted only to a directory that is already the user's own and
// private; credd changes nothing through it.
func prepareDir(dir string) (was fs.FileMode, tightened bool, err error) {
	if li, err := os.Lstat(dir); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		return checkLinkedDir(dir)
	}
	restore := privateUmask()
	err = os.MkdirAll(dir, 0o700)
	restore()
	if err != nil {
		return 0, false, fmt.Errorf("creating state dir %s: %w", dir, err)
	}
	li, err := os.Lstat(dir)
	if err != nil {
		return 0, false, fmt.Errorf("state dir: %w", err)
	}
	if !li.IsDir() {
		return 0, false, fmt.Errorf("state dir %s is not a directory: remove it or set another state_dir", dir)
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return 0, false, fmt.Errorf("state dir %s: %w", dir, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("state dir %s: %w", dir, err)
	}
	was = fi.Mode().Perm()
	if err := ownDir(dir, fi); err != nil {
		return was, false, err
	}
	if was&0o077 == 0 {
		return was, false, nil
	}
	if err := f.Chmod(0o700); err != nil {
		return was, false, fmt.Errorf("state dir %s (mode %04o) is open to group or others and could not be made private (%w): run `chmod 700 %s`, or set another state_dir", dir, was, err, dir)
	}
	return was, true, nil
}

// checkLinkedDir accepts a state dir that is a symbolic link only when it
// leads to a directory of this user that group and others cannot enter.
func checkLinkedDir(link string) (fs.FileMode, bool, error) {
	target, err := filepath.EvalSymlinks(link)
	if err != nil {
		return 0, false, fmt.Errorf("state dir %s is a symbolic link that leads nowhere (%w): point it at a directory of yours with mode 0700, or set another state_dir", link, err)
	}
	fi, err := os.Stat(target)
	if err != nil {
		return 0, false, fmt.Errorf("state dir %s is a symbolic link to %s: %w", link, target, err)
	}
	if !fi.IsDir() {
		return 0, false, fmt.Errorf("state dir %s is a symbolic link to %s, which is not a directory: point it at a directory of yours with mode 0700, or set another state_dir", link, target)
	}
	perm := fi.Mode().Perm()
	if owner, foreign := private.Foreign(fi); foreign {
		return perm, false, fmt.Errorf("state dir %s is a symbolic link to %s, which belongs to user %s, not to this one: point it at a directory of yours with mode 0700, or set another state_dir", link, target, owner)
	}
	if perm&0o077 != 0 {
		return perm, false, fmt.Errorf("state dir %s is a symbolic link to %s (mode %04o), which group or others may enter; credd changes no mode through a link: run `chmod 700 %s`, or set another state_dir", link, target, perm, target)
	}
	return perm, false, nil
}

// ownDir refuses a directory of another user: its owner could read the
// token and plant one of their own.
func ownDir(dir string, fi fs.FileInfo) error {
	if owner, foreign := private.Foreign(fi); foreign {
		return fmt.Errorf("state dir %s (mode %04o) belongs to user %s, not to this one (%d): set another state_dir, or have the directory removed", dir, fi.Mode().Perm(), owner, os.Geteuid())
	}
	return nil
}

// checkDir refuses a state dir that group or others may access or that
// another user owns.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if err := ownDir(dir, fi); err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("state dir %s (mode %04o) is open to group or others: run `chmod 700 %s`", dir, perm, dir)
	}
	return nil
}
