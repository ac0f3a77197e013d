package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/private"
)

// MaxFileValue is the largest value a File store holds. Sessions are a few
// kilobytes; the cap keeps a damaged or planted file from exhausting memory.
const MaxFileValue = 16 << 20

const (
	entryExt   = ".json"
	tempPrefix = atomicfile.TempPrefix
	// staleTemp is how old a leftover temp file (from a writer that
	// crashed) must be before NewFile removes it; younger ones may belong
	// to a write in progress in another process.
	staleTemp = time.Minute
)

// File keeps each value in its own file, <dir>/<escaped key>.json, mode
// 0600, in a directory of mode 0700. A write goes to a temp file in the same
// directory, is synced, renamed over the entry and the directory synced
// (where the OS supports it), so a crash at any point leaves the previous
// value or the new one, never a mix. On Unix it refuses, with an
// *InsecureFileError, to open a directory that holds entries (or is itself)
// writable by group or others, and to read such an entry later; it does not
// follow symbolic links to entries.
type File struct {
	dir string
}

var _ Store = (*File)(nil)

// NewFile returns a File store in dir (normally <state_dir>/sessions),
// creating it with mode 0700 when missing, and removes temp files that
// writers which crashed left there. It refuses a directory, or entries in
// it, that group or others may write: the error wraps an *InsecureFileError
// for each (errors.Is ErrInsecureFile), naming the file and its fix.
func NewFile(dir string) (*File, error) {
	if dir == "" {
		return nil, errors.New("session file store: no directory given")
	}
	if err := private.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("creating session dir: %w", err)
	}
	s := &File{dir: dir}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	if err := s.checkEntries(); err != nil {
		return nil, err
	}
	s.removeStaleTemps(time.Now().Add(-staleTemp))
	return s, nil
}

// Dir returns the directory that holds the entries.
func (s *File) Dir() string { return s.dir }

// Kind returns "file".
func (*File) Kind() string { return KindFile }

// Path returns the file that holds key (whether or not it exists).
func (s *File) Path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return s.path(key), nil
}

func (s *File) path(key string) string {
	return filepath.Join(s.dir, escapeKey(key)+entryExt)
}

// Get reads the entry for key.
func (s *File) Get(ctx context.Context, key string) ([]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	path := s.path(key)
	f, err := openEntry(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("session %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file (%s): remove it", path, fi.Mode().Type())
	}
	if err := checkPrivate(path, fi, "600"); err != nil {
		return nil, err
	}
	if fi.Size() > MaxFileValue {
		return nil, fmt.Errorf("reading %s: %w: %d bytes, limit %d", path, ErrTooLarge, fi.Size(), MaxFileValue)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileValue+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > MaxFileValue {
		return nil, fmt.Errorf("reading %s: %w: more than %d bytes", path, ErrTooLarge, MaxFileValue)
	}
	return b, nil
}

// Put replaces the entry for key atomically.
func (s *File) Put(ctx context.Context, key string, value []byte) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	if len(value) > MaxFileValue {
		return fmt.Errorf("storing session %q: %w: %d bytes, limit %d", key, ErrTooLarge, len(value), MaxFileValue)
	}
	if err := s.checkDir(); err != nil {
		return err
	}
	path := s.path(key)
	if err := atomicfile.Write(path, value, 0o600); err != nil {
		return fmt.Errorf("storing session %q in %s: %w", key, path, err)
	}
	return nil
}

// Delete removes the entry for key.
func (s *File) Delete(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	path := s.path(key)
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting session %q: %w", key, err)
	}
	if err := atomicfile.SyncDir(s.dir); err != nil {
		return fmt.Errorf("deleting session %q: syncing %s: %w", key, s.dir, err)
	}
	return nil
}

// List returns the keys of the entries in the directory, sorted. Files
// whose names no key maps to (temp files, strays) are not listed.
func (s *File) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.dir, err)
	}
	var keys []string
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), entryExt)
		if !ok {
			continue
		}
		if key, ok := unescapeKey(name); ok {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *File) checkDir() error {
	fi, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("session dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("session dir %s: not a directory", s.dir)
	}
	return checkPrivate(s.dir, fi, "700")
}

// checkEntries refuses every entry that group or others may write, each
// error naming the file and how to fix it. Files no key maps to are never
// read, and entries that are not regular files (links, FIFOs) are refused
// when read; neither is checked here.
func (s *File) checkEntries() error {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", s.dir, err)
	}
	var errs []error
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), entryExt)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		key, ok := unescapeKey(name)
		if !ok {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if err := checkPrivate(filepath.Join(s.dir, de.Name()), fi, "600"); err != nil {
			errs = append(errs, fmt.Errorf("stored session %q: %w, or remove the file and sign in again", key, err))
		}
	}
	return errors.Join(errs...)
}

func (s *File) removeStaleTemps(before time.Time) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), tempPrefix) || !de.Type().IsRegular() {
			continue
		}
		if fi, err := de.Info(); err == nil && fi.ModTime().Before(before) {
			os.Remove(filepath.Join(s.dir, de.Name()))
		}
	}
}
