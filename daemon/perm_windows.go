//go:build windows

package daemon

import (
	"os"

	"github.com/credd/credd/peer"
	"github.com/credd/credd/private"
	"github.com/credd/credd/store"
)

// CheckPrivate refuses a file whose DACL lets an account other than the
// user, SYSTEM or Administrators change it (the Windows form of Unix's
// group- or other-writable mode), with an *store.InsecureFileError
// (errors.Is ErrInsecureFile) naming those accounts and an icacls
// command that leaves the user alone in the ACL.
func CheckPrivate(path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	others, err := private.OtherWriters(path)
	if err != nil {
		return err
	}
	if len(others) == 0 {
		return nil
	}
	me, err := peer.Self()
	if err != nil {
		return err
	}
	// SIDs, not names: the command means the same in cmd and PowerShell.
	fix := `icacls "` + path + `" /inheritance:r /grant:r *` + me + `:F`
	for _, sid := range others {
		fix += " /remove:g *" + sid
	}
	return &store.InsecureFileError{Path: path, Writers: others, Fix: fix}
}
