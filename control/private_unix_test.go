//go:build unix

package control

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// looseUmask runs the rest of the test with umask 0, as if credd had been
// started from a careless shell or service manager.
func looseUmask(t *testing.T) {
	t.Helper()
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestListenUnderLooseUmask: whatever umask credd starts with, the state dir
// ends up 0700 (tightened and reported when it was open) and the socket
// 0600.
func TestListenUnderLooseUmask(t *testing.T) {
	for _, tc := range []struct {
		name          string
		existing      fs.FileMode // 0: the dir does not exist yet
		wantTightened bool
	}{
		{"dir created by credd", 0, false},
		{"private dir stays", 0o700, false},
		{"readable dir is tightened", 0o755, true},
		{"group dir is tightened", 0o770, true},
		{"open dir is tightened", 0o777, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			looseUmask(t)
			dir := filepath.Join(shortDir(t), "s")
			if tc.existing != 0 {
				if err := os.Mkdir(dir, tc.existing); err != nil {
					t.Fatal(err)
				}
				if got := mode(t, dir); got != tc.existing {
					t.Fatalf("setup: dir mode %04o, want %04o", got, tc.existing)
				}
			}
			was, tightened, err := PrepareDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tightened != tc.wantTightened || (tightened && was != tc.existing) {
				t.Errorf("PrepareDir = %04o, %v; want tightened=%v from %04o", was, tightened, tc.wantTightened, tc.existing)
			}
			if got := mode(t, dir); got != 0o700 {
				t.Errorf("state dir mode %04o, want 0700", got)
			}
			ln, err := Listen(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			if got := mode(t, SocketPath(dir)); got != 0o600 {
				t.Errorf("socket mode %04o, want 0600", got)
			}
		})
	}
}

// TestListenUnixIsPrivateFromBirth: the socket has no group or other bits
// even before Listen's chmod, so nobody can connect in between.
func TestListenUnixIsPrivateFromBirth(t *testing.T) {
	looseUmask(t)
	path := SocketPath(shortDir(t))
	ln, err := listenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := mode(t, path); got&0o077 != 0 {
		t.Errorf("socket born with mode %04o: open to group or others", got)
	}
	// The umask is restored afterwards: other files keep the caller's.
	other := filepath.Join(filepath.Dir(path), "after")
	if err := os.WriteFile(other, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, other); got != 0o666 {
		t.Errorf("a file created after listenUnix has mode %04o, want 0666: umask not restored", got)
	}
}

func TestListenRefusesAnOpenStateDir(t *testing.T) {
	dir := shortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("Listen in a 0755 dir = %v, want a refusal naming the dir and chmod 700", err)
	}
	if _, serr := os.Lstat(SocketPath(dir)); serr == nil {
		t.Error("the socket was created anyway")
	}
}

func TestPrepareDirRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"not a directory", func(t *testing.T, dir string) {
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"not a directory"}},
		{"another user's open dir", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the dir to another user")
			}
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, []string{"belongs to user 65534", "set another state_dir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(shortDir(t), "s")
			tc.setup(t, dir)
			_, tightened, err := PrepareDir(dir)
			if err == nil || tightened {
				t.Fatalf("PrepareDir = %v (tightened %v), want a refusal", err, tightened)
			}
			for _, w := range append([]string{dir}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
