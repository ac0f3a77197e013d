package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Filter selects entries.
type Filter struct {
	Since   time.Time // zero: all
	Profile string    // empty: all
}

func (f Filter) match(e Entry) bool {
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	return f.Profile == "" || e.Profile == f.Profile
}

// Files lists the log's files, oldest first: the rotated ones (named
// NAME-<UTC time>-<reason>.EXT; NAME-<UTC time>.EXT as lumberjack named
// them), then the current one.
func Files(path string) ([]string, error) {
	ext := filepath.Ext(path)
	old, err := filepath.Glob(strings.TrimSuffix(path, ext) + "-*" + ext)
	if err != nil {
		return nil, err
	}
	slices.Sort(old) // the time stamps sort as text
	return append(old, path), nil
}

// Read calls fn with every entry of the log and its rotated files that
// matches f, oldest first. A line that does not decode is skipped.
func Read(path string, f Filter, fn func(Entry)) error {
	files, err := Files(path)
	if err != nil {
		return err
	}
	found := false
	for _, name := range files {
		fh, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // rotated away meanwhile
		}
		if err != nil {
			return err
		}
		found = true
		_, err = scan(fh, f, fn)
		fh.Close()
		if err != nil {
			return err
		}
	}
	if !found {
		return ErrNoLog
	}
	return nil
}

// scan reads complete lines; it returns how many bytes it consumed, so
// that a line still being written is read again later.
func scan(r io.Reader, f Filter, fn func(Entry)) (int64, error) {
	br := bufio.NewReader(r)
	var n int64
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return n, nil // a partial last line waits for its end
		}
		if err != nil {
			return n, err
		}
		n += int64(len(line))
		var e Entry
		if json.Unmarshal(line, &e) == nil && f.match(e) {
			fn(e)
		}
	}
}

// Follow calls fn with the entries of the current file and then with those
// appended to it, until ctx ends, checking every poll. It follows the log
// across rotations.
func Follow(ctx context.Context, path string, f Filter, poll time.Duration, fn func(Entry)) error {
	var fh *os.File
	var off int64
	open := func() {
		var err error
		if fh, err = os.Open(path); err != nil {
			fh = nil
		}
		off = 0
	}
	open()
	defer func() {
		if fh != nil {
			fh.Close()
		}
	}()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if fh != nil {
			if _, err := fh.Seek(off, io.SeekStart); err != nil {
				return err
			}
			n, err := scan(fh, f, fn)
			if err != nil {
				return err
			}
			off += n
			// Rotated: the name now points at a new file. Finish
			// the old one, then read the new one.
			if fi, err := os.Stat(path); err == nil {
				if cur, err := fh.Stat(); err == nil && !os.SameFile(fi, cur) {
					if _, err := fh.Seek(off, io.SeekStart); err == nil {
						_, _ = scan(fh, f, fn)
					}
					fh.Close()
					open()
					continue
				}
			}
		} else {
			open()
			if fh != nil {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
