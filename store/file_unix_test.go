//go:build unix

package store

import (
	"context"
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
