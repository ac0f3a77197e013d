//go:build windows

package private_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/credd/credd/internal/privatetest"
	"github.com/credd/credd/private"
)

// TestCreatedPrivate: what MkdirAll, CreateTemp and CreateIfMissing
// create, read back, admits the user alone and inherits nothing; a file
// made the ordinary way in the same place does not.
//
// Under wine the DACL read back is one wine makes up from the Unix mode
// it keeps instead: it always names SYSTEM too and never says protected,
// but it names Everyone for a file others may read, so the user-only
// part is still tested there (privatetest.Check).
func TestCreatedPrivate(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b")
	if err := private.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := private.MkdirAll(dir); err != nil {
		t.Errorf("MkdirAll of an existing directory: %v", err)
	}
	privatetest.Check(t, filepath.Join(base, "a"))
	privatetest.Check(t, dir)

	f, err := private.CreateTemp(dir, ".tmp-token-*.json")
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
	privatetest.Check(t, f.Name())
	// A rename keeps the file's own DACL.
	token := filepath.Join(dir, "token")
	if err := os.Rename(f.Name(), token); err != nil {
		t.Fatal(err)
	}
	privatetest.Check(t, token)

	audit := filepath.Join(dir, "audit.log")
	if err := private.CreateIfMissing(audit); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(audit, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := private.CreateIfMissing(audit); err != nil {
		t.Errorf("CreateIfMissing of an existing file: %v", err)
	}
	if b, _ := os.ReadFile(audit); string(b) != "x" {
		t.Errorf("CreateIfMissing changed an existing file: %q", b)
	}
	privatetest.Check(t, audit)

	// The control: a file made as os.WriteFile makes it, beside them.
	plain := filepath.Join(base, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := privatetest.Private(plain); err == nil {
		t.Errorf("an ordinary file %s passes as private: the test proves nothing here", plain)
	}
}
