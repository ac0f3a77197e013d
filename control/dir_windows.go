//go:build windows

package control

import (
	"fmt"
	"io/fs"

	"github.com/credd/credd/private"
)

// prepareDir creates the state dir with a DACL that admits the user alone
// (private.MkdirAll); its ACL, not mode bits, keeps others out. A state
// dir that exists keeps its ACL.
func prepareDir(dir string) (fs.FileMode, bool, error) {
	if err := private.MkdirAll(dir); err != nil {
		return 0, false, fmt.Errorf("creating state dir %s: %w", dir, err)
	}
	return 0, false, nil
}

// checkDir does nothing on Windows: mode bits say nothing about the ACL.
func checkDir(string) error { return nil }
