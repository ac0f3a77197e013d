//go:build unix

package login_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/internal/signintest"
	"github.com/credd/credd/login"
)

// TestSignInRefusesAnUntrustedCache: a login cache directory that group or
// others may write, or another user owns, and a cache file another user
// owns, are neither read nor written: the session there is not taken
// (another user could have put theirs), credd's renewals are not written
// there, logout removes nothing, and each refusal names the directory or
// file and the fix. Made private again, the same cache is taken.
func TestSignInRefusesAnUntrustedCache(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	dir := filepath.Join(t.TempDir(), "login", "cache")
	first, wg, _ := signInSession(t, signInMethod(f, dir))
	browserSignIn(t, first, wg)
	tok, err := first.Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	path := login.LoginCacheFile(dir, f.Session())
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	refused := func(t *testing.T, want string) {
		t.Helper()
		m := signInMethod(f, dir)
		s, _, logs := signInSession(t, m)
		if s.NeedsLogin() == nil {
			t.Fatal("the session in a refused cache was taken")
		}
		if !strings.Contains(logs.String(), "the AWS CLI's login cache is refused") || !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say why (%q):\n%s", want, logs)
		}
		noSignInSecrets(t, "the log", logs.String())
		// credd's own session is not written there either, nor removed.
		err := m.Kept(tok)
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "credd shares no aws login session with the AWS CLI through it") {
			t.Errorf("Kept = %v, want a refusal saying %q", err, want)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
			t.Errorf("the cache file was changed or removed (%v)", err)
		}
	}

	t.Run("writable by others", func(t *testing.T) {
		chmod(t, dir, 0o777)
		defer chmod(t, dir, 0o700)
		const want = ": it is writable by group or others (mode 0777): any of them could put a session of theirs in place of yours: run `chmod 700 "
		refused(t, dir+want)
		// A logout forgets the session but leaves the file (last: the
		// first session is gone after it).
		if err := signInMethod(f, dir).Logout(t.Context(), first); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Logout = %v, want the refusal", err)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
			t.Errorf("the logout changed or removed the cache file (%v)", err)
		}
	})
	t.Run("a directory on the way writable by others", func(t *testing.T) {
		up := filepath.Dir(dir)
		chmod(t, up, 0o777)
		defer chmod(t, up, 0o700)
		refused(t, "the directory "+up+" on the way to it is writable by group or others (mode 0777)")
	})
	t.Run("another user's directory", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a directory to another user")
		}
		chownTo(t, dir, 65534)
		defer chownTo(t, dir, os.Geteuid())
		refused(t, "it belongs to user 65534")
	})
	t.Run("another user's file", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a file to another user")
		}
		chownTo(t, path, 65534)
		defer chownTo(t, path, os.Geteuid())
		m := signInMethod(f, dir)
		s, _, logs := signInSession(t, m)
		if s.NeedsLogin() == nil {
			t.Fatal("another user's cache file was taken")
		}
		if !strings.Contains(logs.String(), path+": it belongs to user 65534") {
			t.Errorf("the log does not name the file and its owner:\n%s", logs)
		}
		if _, err := login.ReadLoginCache(path); !errorsIsRefused(err) {
			t.Errorf("ReadLoginCache = %v, want a refusal", err)
		}
	})

	// Private again: the same file is taken.
	s, _, _ := signInSession(t, signInMethod(f, dir))
	if err := s.NeedsLogin(); err != nil {
		t.Fatalf("a private cache: the session was not taken: %v", err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chownTo(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func errorsIsRefused(err error) bool {
	var re *awsfile.RefusedError
	return errors.As(err, &re) && re.Effect != ""
}
