package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteReplacesWholeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, tc := range []struct {
		content string
		perm    os.FileMode
	}{{"first", 0o600}, {"second, longer content", 0o640}} {
		if err := Write(path, []byte(tc.content), tc.perm); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != tc.content {
			t.Errorf("got %q, want %q", got, tc.content)
		}
		if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != tc.perm {
			t.Errorf("mode %04o, want %04o", fi.Mode().Perm(), tc.perm)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestWriteFailureKeepsTheOldContent(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Error("writing into a missing directory should fail")
	}
	// A target that is a directory cannot be replaced: the rename fails,
	// and the temporary file must not stay.
	target := filepath.Join(dir, "d")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(target, []byte("x"), 0o600); err == nil {
		t.Error("replacing a non-empty directory should fail")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestWriteReportsAFailureAfterTheRename: when syncing the directory fails,
// the new content is already in place, and the error says so in a form the
// caller can recognise; any other failure is not that error and leaves the
// old content.
func TestWriteReportsAFailureAfterTheRename(t *testing.T) {
	eio := errors.New("input/output error")
	for _, tc := range []struct {
		name       string
		w          Writer
		want       string // the file's content afterwards
		notDurable bool
	}{
		{"the directory sync fails after the rename", Writer{SyncDir: func(string) error { return eio }}, "new", true},
		{"the directory sync succeeds", Writer{SyncDir: func(string) error { return nil }}, "new", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := tc.w.Write(path, []byte("new"), 0o600)
			var nd *NotDurableError
			if got := errors.As(err, &nd); got != tc.notDurable {
				t.Fatalf("error %v: a NotDurableError: %v, want %v", err, got, tc.notDurable)
			}
			if tc.notDurable && (nd.Path != path || !errors.Is(err, eio) || !strings.Contains(err.Error(), "holds the new content")) {
				t.Errorf("error %q: path %q, want %q and the cause", err, nd.Path, path)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.want {
				t.Errorf("file holds %q, want %q", got, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
	// A failure before the rename is no NotDurableError.
	dir := t.TempDir()
	err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600)
	var nd *NotDurableError
	if err == nil || errors.As(err, &nd) {
		t.Errorf("writing into a missing directory: %v, want a plain failure", err)
	}
}
