//go:build windows

package control

import (
	"fmt"
	"io/fs"
	"os"
)

// prepareDir creates the state dir; its ACL, not mode bits, keeps others
// out.
func prepareDir(dir string) (fs.FileMode, bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, false, fmt.Errorf("creating state dir %s: %w", dir, err)
	}
	return 0, false, nil
}

// checkDir does nothing on Windows: mode bits say nothing about the ACL.
func checkDir(string) error { return nil }
