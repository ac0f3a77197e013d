//go:build unix

package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFileLoadAllSkipsBadEntries: entries that cannot be read are reported
// by key and the rest load.
func TestFileLoadAllSkipsBadEntries(t *testing.T) {
	ctx := context.Background()
	s, dir := newFile(t)
	mustPut(t, s, "sso/good", []byte(`{"ok":true}`))
	mustPut(t, s, "oidc/good", []byte(`{"ok":2}`))
	mustPut(t, s, "sso/insecure", []byte("x"))
	mustPut(t, s, "sso/corrupt", []byte("{not json")) // the daemon's problem, loads here
	if err := os.Chmod(filepath.Join(dir, "sso%2Finsecure.json"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sso%2Fdirectory.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "sso%2Fsymlink.json")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "sso%2Ffifo.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "sso%2Fhuge.json")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, MaxFileValue+1); err != nil {
		t.Fatal(err)
	}
	// Strays nobody wrote through the store are not listed.
	for _, stray := range []string{"README", "SSO%2Fx.json", "sso%2fx.json", "con.json", ".tmp-123", "x.json.bak"} {
		if err := os.WriteFile(filepath.Join(dir, stray), []byte("stray"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	got, problems := LoadAll(ctx, s)
	if len(got) != 3 || string(got["sso/good"]) != `{"ok":true}` || string(got["oidc/good"]) != `{"ok":2}` || string(got["sso/corrupt"]) != "{not json" {
		t.Errorf("entries = %q, want sso/good, oidc/good and sso/corrupt", got)
	}
	wantProblems := map[string]string{
		"sso/insecure":  "chmod 600",
		"sso/directory": "not a regular file",
		"sso/symlink":   "symbolic link",
		"sso/fifo":      "not a regular file",
		"sso/huge":      ErrTooLarge.Error(),
	}
	if len(problems) != len(wantProblems) {
		t.Errorf("got %d problems, want %d: %v", len(problems), len(wantProblems), problems)
	}
	for key, want := range wantProblems {
		found := false
		for _, p := range problems {
			if strings.Contains(p.Error(), `"`+key+`"`) && strings.Contains(p.Error(), want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem names %q with %q: %v", key, want, problems)
		}
	}
}

// TestFileRefusesAnotherUsersEntries: a session file another user owns is
// refused at open and when read, naming the owner, whatever its mode (its
// owner could rewrite it at will).
func TestFileRefusesAnotherUsersEntries(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	ctx := context.Background()
	s, dir := newFile(t)
	mustPut(t, s, "sso/planted", []byte(`{"ok":true}`))
	mustPut(t, s, "sso/mine", []byte(`{"ok":true}`))
	path := filepath.Join(dir, "sso%2Fplanted.json")
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"NewFile": func() error { _, err := NewFile(dir); return err }(),
		"Get":     func() error { _, err := s.Get(ctx, "sso/planted"); return err }(),
	} {
		var ie *InsecureFileError
		if !errors.As(err, &ie) || ie.Path != path || !strings.Contains(err.Error(), "belongs to user 65534 (nobody)") {
			t.Errorf("%s = %v, want an *InsecureFileError naming %s and its owner", name, err, path)
		}
	}
	if v, err := s.Get(ctx, "sso/mine"); err != nil || string(v) != `{"ok":true}` {
		t.Errorf("the user's own entry: %q, %v", v, err)
	}
}
