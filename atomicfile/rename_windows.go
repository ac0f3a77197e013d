//go:build windows

package atomicfile

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// RenameWait bounds how long Write on Windows keeps trying a rename that
// the target's being open elsewhere refuses. A reader of a small file
// holds it for milliseconds.
const RenameWait = time.Second

// rename renames old over new. Windows refuses to replace a file that
// another process holds open without sharing delete access (an AWS CLI
// reading its login cache at that moment, say) with ERROR_ACCESS_DENIED
// or ERROR_SHARING_VIOLATION; the reader soon closes it, so the rename is
// tried again, backing off, for up to RenameWait (or as w.RetryRename
// decides). Any other error, or the last refusal, is returned.
func (w Writer) rename(old, new string) error {
	retry := w.RetryRename
	if retry == nil {
		deadline := time.Now().Add(RenameWait)
		wait := 2 * time.Millisecond
		retry = func(error) bool {
			if time.Now().Add(wait).After(deadline) {
				return false
			}
			time.Sleep(wait)
			wait = min(2*wait, 100*time.Millisecond)
			return true
		}
	}
	for {
		err := os.Rename(old, new)
		if err == nil || !inUse(err) || !retry(err) {
			return err
		}
	}
}

// inUse reports whether err is Windows refusing a rename because the
// target is open.
func inUse(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}
