package store

import (
	"context"
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

func newFile(t *testing.T) (*File, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state", "sessions")
	s, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func skipOnWindows(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("Windows protects the state dir with its ACL, not mode bits")
	}
}

func TestFileLayout(t *testing.T) {
	s, dir := newFile(t)
	mustPut(t, s, "sso/corp", []byte("x"))
	mustPut(t, s, "oidc/Okta", []byte("y"))
	path, err := s.Path("sso/corp")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "sso%2Fcorp.json"); path != want {
		t.Errorf("Path = %q, want %q", path, want)
	}
	if _, err := s.Path("../x"); !errors.Is(err, ErrBadKey) {
		t.Errorf("Path(../x) = %v, want ErrBadKey", err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"oidc%2F%4Fkta.json", "sso%2Fcorp.json"}) {
		t.Errorf("files = %q", got)
	}
}

func TestFileModes(t *testing.T) {
	s, dir := newFile(t)
	mustPut(t, s, "sso/corp", []byte("x"))
	mustPut(t, s, "sso/corp", []byte("overwritten"))
	// Windows: the DACLs, read back; Unix: no mode bits for others.
	for _, p := range []string{filepath.Dir(dir), dir, filepath.Join(dir, "sso%2Fcorp.json")} {
		privatetest.Check(t, p)
	}
	if runtime.GOOS == "windows" {
		return
	}
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{filepath.Dir(dir), 0o700},
		{dir, 0o700},
		{filepath.Join(dir, "sso%2Fcorp.json"), 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("%s: mode %04o, want %04o", tc.path, got, tc.want)
		}
	}
}

func TestFileRefusesInsecure(t *testing.T) {
	skipOnWindows(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		mode     os.FileMode
		onDir    bool
		wantFix  string
		wantRefs bool // whether Get/List/NewFile refuse
	}{
		{"world-writable file", 0o666, false, "chmod 600", true},
		{"group-writable file", 0o620, false, "chmod 600", true},
		{"other-writable only", 0o602, false, "chmod 600", true},
		{"readable by others is allowed", 0o644, false, "", false},
		{"world-writable dir", 0o777, true, "chmod 700", true},
		{"group-writable dir", 0o770, true, "chmod 700", true},
		{"readable dir is allowed", 0o755, true, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := newFile(t)
			mustPut(t, s, "sso/corp", []byte("x"))
			target := filepath.Join(dir, "sso%2Fcorp.json")
			if tc.onDir {
				target = dir
			}
			if err := os.Chmod(target, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := s.Get(ctx, "sso/corp")
			if !tc.wantRefs {
				if err != nil {
					t.Fatalf("Get = %v, want success", err)
				}
				return
			}
			checkInsecure(t, err, target, tc.wantFix)
			if tc.onDir {
				_, err := s.List(ctx)
				checkInsecure(t, err, target, tc.wantFix)
				_, err = NewFile(dir)
				checkInsecure(t, err, target, tc.wantFix)
				err = s.Put(ctx, "sso/corp", []byte("y"))
				checkInsecure(t, err, target, tc.wantFix)
			}
			// The fix the error names works.
			if err := os.Chmod(target, tc.mode&^0o022); err != nil {
				t.Fatal(err)
			}
			wantGet(t, s, "sso/corp", []byte("x"))
		})
	}
}

// TestNewFileRefusesInsecureEntries: opening the store (what credd does at
// start) refuses every entry group or others may write, naming each file,
// its fix and the key it holds; files that are never read do not count.
func TestNewFileRefusesInsecureEntries(t *testing.T) {
	skipOnWindows(t)
	cases := []struct {
		name  string
		files map[string]os.FileMode // name in the dir -> mode
		want  []string               // keys refused; none: NewFile succeeds
	}{
		{"private entries", map[string]os.FileMode{"sso%2Fcorp.json": 0o600, "oidc%2Fokta.json": 0o600}, nil},
		{"readable by others is allowed", map[string]os.FileMode{"sso%2Fcorp.json": 0o644}, nil},
		{"world-writable entry", map[string]os.FileMode{"sso%2Fcorp.json": 0o666, "oidc%2Fokta.json": 0o600}, []string{"sso/corp"}},
		{"group-writable entry", map[string]os.FileMode{"sso%2Fcorp.json": 0o620}, []string{"sso/corp"}},
		{"every insecure entry is named", map[string]os.FileMode{"sso%2Fcorp.json": 0o666, "oidc%2Fokta.json": 0o602}, []string{"sso/corp", "oidc/okta"}},
		{"strays are never read", map[string]os.FileMode{"README": 0o666, "SSO%2Fx.json": 0o666, tempPrefix + "1": 0o666}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, dir := newFile(t)
			for name, mode := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, mode); err != nil {
					t.Fatal(err)
				}
			}
			_, err := NewFile(dir)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("NewFile = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, ErrInsecureFile) {
				t.Fatalf("NewFile = %v, want ErrInsecureFile", err)
			}
			for _, key := range tc.want {
				path := filepath.Join(dir, escapeKey(key)+entryExt)
				for _, w := range []string{`"` + key + `"`, "chmod 600 '" + path + "'", "or remove the file"} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
			}
			if got := strings.Count(err.Error(), "\n") + 1; got != len(tc.want) {
				t.Errorf("%d problem(s) reported, want %d: %v", got, len(tc.want), err)
			}
		})
	}
}

func checkInsecure(t *testing.T, err error, path, fix string) {
	t.Helper()
	if !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("err = %v, want ErrInsecureFile", err)
	}
	var ie *InsecureFileError
	if !errors.As(err, &ie) || ie.Path != path {
		t.Fatalf("err = %v, want an *InsecureFileError for %s", err, path)
	}
	if want := fix + " '" + path + "'"; ie.Fix != want || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q, want the fix %q", err, want)
	}
}

func TestFileNoTempFilesLeft(t *testing.T) {
	ctx := context.Background()
	s, dir := newFile(t)
	for i := range 20 {
		mustPut(t, s, "sso/corp", []byte(strings.Repeat("v", i*1000)))
		mustPut(t, s, "oidc/okta", []byte("x"))
	}
	if err := s.Delete(ctx, "oidc/okta"); err != nil {
		t.Fatal(err)
	}
	// A failed write (the entry's name is taken by a directory) cleans up too.
	if err := os.Mkdir(filepath.Join(dir, "sso%2Fblocked.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "sso/blocked", []byte("x")); err == nil {
		t.Fatal("Put over a directory succeeded")
	} else if !strings.Contains(err.Error(), "sso/blocked") {
		t.Errorf("error %q does not name the key", err)
	}
	if err := s.Put(ctx, "sso/big", make([]byte, MaxFileValue+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Put(too large) = %v, want ErrTooLarge", err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"sso%2Fblocked.json", "sso%2Fcorp.json"}) {
		t.Errorf("files = %q, want the entries alone", got)
	}
}

func TestFileRemovesStaleTemps(t *testing.T) {
	s, dir := newFile(t)
	mustPut(t, s, "sso/corp", []byte("x"))
	stale, fresh := filepath.Join(dir, tempPrefix+"stale"), filepath.Join(dir, tempPrefix+"fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half a session"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(dir); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{tempPrefix + "fresh", "sso%2Fcorp.json"}) {
		t.Errorf("files = %q: want the stale temp file gone and the fresh one (a write in progress) kept", got)
	}
}

func TestNewFileErrors(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", blocker, filepath.Join(blocker, "sessions")} {
		if _, err := NewFile(dir); err == nil {
			t.Errorf("NewFile(%q) succeeded", dir)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}
