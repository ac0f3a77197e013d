// Package atomicfile replaces files so that a crash at any moment leaves
// either the old content or the new, never a mix: a temporary file in the
// same directory, synced, renamed over the target, and the directory synced.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/credd/credd/private"
)

// TempPrefix starts the name of every temporary file Write makes, so that
// owners of a directory can recognise (and clean up) leftovers of a crash.
const TempPrefix = ".tmp-"

// NotDurableError is returned when the new content is in place (the rename
// succeeded: readers see it from now on) but syncing the directory failed,
// so a crash or power loss may still bring the old content back. A caller
// that must know which content the file holds must not treat it as a
// failure before the replacement.
type NotDurableError struct {
	Path string
	Err  error
}

func (e *NotDurableError) Error() string {
	return fmt.Sprintf("%s holds the new content, but syncing its directory failed (a crash may still undo the replacement): %v", e.Path, e.Err)
}

func (e *NotDurableError) Unwrap() error { return e.Err }

// Writer replaces files. The zero value is what Write uses.
type Writer struct {
	// SyncDir, if set, replaces the package's SyncDir after the rename
	// (tests use it to fail there).
	SyncDir func(dir string) error
	// RetryRename, if set, replaces the wait before another attempt at a
	// rename that Windows refused because the target is open elsewhere
	// (a reader that did not share delete access, as the AWS CLI and Go
	// open files): it returns whether to try again. The default waits,
	// backing off, up to RenameWait in all. Unix never refuses so.
	RetryRename func(err error) bool
}

// Write replaces path with data, with permissions perm. The directory must
// exist. On failure path keeps its previous content and no temporary file
// is left behind, except for a *NotDurableError: then path holds data.
func Write(path string, data []byte, perm os.FileMode) error {
	return Writer{}.Write(path, data, perm)
}

// Write replaces path with data, as the package's Write does.
func (w Writer) Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	// A file for the user alone is created so (on Windows with a DACL that
	// admits the user alone, rather than the directory's inherited one),
	// not made so after its creation.
	create := os.CreateTemp
	if perm&0o077 == 0 {
		create = private.CreateTemp
	}
	f, err := create(dir, TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil && !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil && !isWindows() {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = w.rename(tmp, path); err != nil {
		return err
	}
	renamed = true
	syncDir := w.SyncDir
	if syncDir == nil {
		syncDir = SyncDir
	}
	if serr := syncDir(dir); serr != nil {
		return &NotDurableError{Path: path, Err: serr}
	}
	return nil
}

func isWindows() bool { return filepath.Separator == '\\' }
