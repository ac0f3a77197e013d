package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestEnsureToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path, tok, err := EnsureToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if string(raw) != string(tok) || strings.ContainsAny(string(raw), "\r\n ") || len(tok) != 64 {
		t.Errorf("token file %q: want 64 hex characters and no newline", raw)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("token mode %04o, want 0600", fi.Mode().Perm())
		}
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
			t.Errorf("state dir mode %04o, want 0700", fi.Mode().Perm())
		}
	}
	_, again, err := EnsureToken(dir)
	if err != nil || string(again) != string(tok) {
		t.Errorf("token changed across restarts: %q -> %q (%v)", tok, again, err)
	}
}

func TestEnsureTokenRefusesWritableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not apply on Windows")
	}
	dir := t.TempDir()
	path, _, err := EnsureToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o620); err != nil {
		t.Fatal(err)
	}
	_, _, err = EnsureToken(dir)
	if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("err = %v, want ErrInsecureFile naming the file and the fix", err)
	}
}
