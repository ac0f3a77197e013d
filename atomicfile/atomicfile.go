// Package atomicfile replaces files so that a crash at any moment leaves
// either the old content or the new, never a mix: a temporary file in the
// same directory, synced, renamed over the target, and the directory synced.
package atomicfile

import (
	"os"
	"path/filepath"
)

// TempPrefix starts the name of every temporary file Write makes, so that
// owners of a directory can recognise (and clean up) leftovers of a crash.
const TempPrefix = ".tmp-"

// Write replaces path with data, with permissions perm. The directory must
// exist. On failure path keeps its previous content and no temporary file
// is left behind.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
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
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

func isWindows() bool { return filepath.Separator == '\\' }
