//go:build windows

package private

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/credd/credd/internal/peertest"
	"golang.org/x/sys/windows"
)

// TestCreatedPrivate: what MkdirAll, CreateTemp and CreateIfMissing
// create, read back, admits the user alone and inherits nothing; a file
// made the ordinary way in the same place does not.
//
// Under wine the DACL read back is one wine makes up from the Unix mode
// it keeps instead: it always names SYSTEM too and never says protected,
// but it names Everyone for a file others may read, so the user-only
// part is still tested there.
func TestCreatedPrivate(t *testing.T) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	want := Access{Protected: true, Allowed: []string{u.User.Sid.String()}}
	wine := peertest.Wine()
	if wine {
		want = Access{Allowed: []string{"S-1-5-18", u.User.Sid.String()}}
	}
	check := func(t *testing.T, path string) {
		t.Helper()
		got, err := ReadAccess(path)
		if err != nil {
			t.Fatal(err)
		}
		if wine {
			got.Protected = false // wine keeps no such flag
		}
		if got.Protected != want.Protected || !slices.Equal(got.Allowed, want.Allowed) {
			t.Errorf("%s: %+v, want %+v", path, got, want)
		}
	}

	base := t.TempDir()
	dir := filepath.Join(base, "a", "b")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(dir); err != nil {
		t.Errorf("MkdirAll of an existing directory: %v", err)
	}
	check(t, filepath.Join(base, "a"))
	check(t, dir)

	f, err := CreateTemp(dir, ".tmp-token-*.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("secret"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if name := filepath.Base(f.Name()); len(name) <= len(".tmp-token-.json") || filepath.Ext(name) != ".json" || filepath.Dir(f.Name()) != dir {
		t.Errorf("CreateTemp made %s", f.Name())
	}
	if b, err := os.ReadFile(f.Name()); err != nil || string(b) != "secret" {
		t.Errorf("read back %q, %v", b, err)
	}
	check(t, f.Name())
	// A rename keeps the file's own DACL.
	token := filepath.Join(dir, "token")
	if err := os.Rename(f.Name(), token); err != nil {
		t.Fatal(err)
	}
	check(t, token)

	audit := filepath.Join(dir, "audit.log")
	if err := CreateIfMissing(audit); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(audit, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CreateIfMissing(audit); err != nil {
		t.Errorf("CreateIfMissing of an existing file: %v", err)
	}
	if b, _ := os.ReadFile(audit); string(b) != "x" {
		t.Errorf("CreateIfMissing changed an existing file: %q", b)
	}
	check(t, audit)

	// The control: a file made as os.WriteFile makes it, beside them.
	plain := filepath.Join(base, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAccess(plain)
	if err != nil {
		t.Fatal(err)
	}
	if wine {
		got.Protected = false
	}
	if got.Protected == want.Protected && slices.Equal(got.Allowed, want.Allowed) {
		t.Errorf("an ordinary file %s is as private (%+v): the test proves nothing here", plain, got)
	}
}
