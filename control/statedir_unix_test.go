//go:build unix

package control

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// otherUID is a real account other than the test's: nobody.
const otherUID = 65534

// giveAway makes path another user's; it needs root.
func giveAway(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	if err := os.Lchown(path, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
}

// TestStateDirOfAnotherUserIsRefused: a state dir another user owns is
// refused whatever its mode (its owner could read the token and plant
// one), naming the owner; Listen refuses it too.
func TestStateDirOfAnotherUserIsRefused(t *testing.T) {
	for _, perm := range []fs.FileMode{0o700, 0o755} {
		t.Run(perm.String(), func(t *testing.T) {
			dir := filepath.Join(shortDir(t), "s")
			if err := os.Mkdir(dir, perm); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, perm); err != nil {
				t.Fatal(err)
			}
			giveAway(t, dir)
			_, tightened, err := PrepareDir(dir)
			if err == nil || tightened {
				t.Fatalf("PrepareDir = %v (tightened %v), want a refusal", err, tightened)
			}
			for _, w := range []string{dir, "belongs to user 65534", "not to this one", "set another state_dir"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if got := mode(t, dir); got != perm {
				t.Errorf("mode %04o after the refusal, want %04o untouched", got, perm)
			}
			if _, err := Listen(dir); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
				t.Errorf("Listen = %v, want the same refusal", err)
			}
		})
	}
}

// TestStateDirSymlink: a state dir that is a symbolic link is used only
// when it leads to a directory of the user's own that is already 0700;
// credd never changes a mode through a link (a 1777 target kept losing
// its sticky bit).
func TestStateDirSymlink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target func(t *testing.T, base string) string // returns the link's target
		ok     bool
		want   []string
	}{
		{"to a private dir of the user's", func(t *testing.T, base string) string {
			return mkdir(t, filepath.Join(base, "real"), 0o700)
		}, true, nil},
		{"to an open dir of the user's", func(t *testing.T, base string) string {
			return mkdir(t, filepath.Join(base, "real"), 0o755)
		}, false, []string{"symbolic link to", "mode 0755", "changes no mode through a link", "chmod 700"}},
		{"to a sticky world-writable dir", func(t *testing.T, base string) string {
			return mkdir(t, filepath.Join(base, "tmp"), 0o777|fs.ModeSticky)
		}, false, []string{"symbolic link to", "group or others may enter"}},
		{"to another user's private dir", func(t *testing.T, base string) string {
			d := mkdir(t, filepath.Join(base, "theirs"), 0o700)
			giveAway(t, d)
			return d
		}, false, []string{"symbolic link to", "belongs to user 65534"}},
		{"to a file", func(t *testing.T, base string) string {
			f := filepath.Join(base, "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}, false, []string{"not a directory"}},
		{"to nothing", func(t *testing.T, base string) string {
			return filepath.Join(base, "gone")
		}, false, []string{"leads nowhere"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := shortDir(t)
			target := tc.target(t, base)
			var before fs.FileMode
			if fi, err := os.Stat(target); err == nil {
				before = fi.Mode()
			}
			link := filepath.Join(base, "s")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			_, tightened, err := PrepareDir(link)
			if tightened {
				t.Error("PrepareDir tightened a dir through a link")
			}
			if fi, serr := os.Stat(target); serr == nil && fi.Mode() != before {
				t.Errorf("the target's mode changed from %v to %v", before, fi.Mode())
			}
			if li, lerr := os.Lstat(link); lerr != nil || li.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("the link itself was replaced: %v %v", li, lerr)
			}
			if !tc.ok {
				if err == nil {
					t.Fatal("PrepareDir accepted it")
				}
				for _, w := range append([]string{link}, tc.want...) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ln, err := Listen(link)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			if _, err := os.Stat(filepath.Join(target, filepath.Base(SocketPath(link)))); err != nil {
				t.Errorf("the socket is not in the link's target: %v", err)
			}
		})
	}
}

// mkdir makes dir with exactly perm (umask aside) and returns it.
func mkdir(t *testing.T, dir string, perm fs.FileMode) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}
