package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/internal/privatetest"
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
	// Windows: the DACLs, read back.
	privatetest.Check(t, dir)
	privatetest.Check(t, path)
	_, again, err := EnsureToken(dir)
	if err != nil || string(again) != string(tok) {
		t.Errorf("token changed across restarts: %q -> %q (%v)", tok, again, err)
	}
}

func TestEnsureTokenRefusesWritableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not apply on Windows: TestCheckPrivateReadsTheDACL")
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

// TestRemoveStaleTemps: at start, the temporary files a killed credd left
// while it replaced a token go: the owner's (.tmp-token-*, written only
// under the state dir's lock) at once, a client's (clients/.tmp-NAME.token-*,
// which `credd client token` writes without the lock when no daemon runs)
// once a minute old. Nothing else is touched, and a state dir without a
// clients directory is no error.
func TestRemoveStaleTemps(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name    string
		files   map[string]time.Duration // path under the state dir -> age
		removed []string
	}{
		{"the owner's token, however young", map[string]time.Duration{".tmp-token-4242": 0, "token": 0}, []string{".tmp-token-4242"}},
		{"no clients directory", map[string]time.Duration{"token": time.Hour}, nil},
		{"a client's, a minute old", map[string]time.Duration{
			"clients/.tmp-ci.token-17": 2 * time.Minute,
			"clients/ci.token":         2 * time.Minute,
		}, []string{filepath.Join("clients", ".tmp-ci.token-17")}},
		{"a client's being written", map[string]time.Duration{"clients/.tmp-ci.token-17": 10 * time.Second}, nil},
		{"others' files", map[string]time.Duration{
			".tmp-notes":             time.Hour,
			"clients/.tmp-notes":     time.Hour,
			"sessions/.tmp-x.json-1": time.Hour, // the session store's own to clean
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, age := range tc.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("half a tok"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
					t.Fatal(err)
				}
			}
			removed, err := RemoveStaleTemps(dir, now)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(removed, ",") != strings.Join(tc.removed, ",") {
				t.Errorf("removed %q, want %q", removed, tc.removed)
			}
			for name := range tc.files {
				gone := slices.Contains(tc.removed, filepath.FromSlash(name))
				if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name))); (err != nil) != gone {
					t.Errorf("%s: %v, want removed %v", name, err, gone)
				}
			}
		})
	}
}
