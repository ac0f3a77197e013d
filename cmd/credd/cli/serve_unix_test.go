//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeMakesTheStateDirPrivate: started under a loose umask with a
// state dir others may enter, serve tightens the dir to 0700 and says so;
// a dir it cannot make private stops it (exit 2, naming the dir).
func TestServeMakesTheStateDirPrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	for _, tc := range []struct {
		name     string
		mode     os.FileMode // of the existing state dir
		foreign  bool        // owned by another user
		code     int
		wantMode os.FileMode
		want     []string
	}{
		{"private dir", 0o700, false, ExitOK, 0o700, nil},
		{"readable dir is tightened", 0o755, false, ExitOK, 0o700, []string{"made it private", `"mode_was":"0755"`}},
		{"open dir is tightened", 0o777, false, ExitOK, 0o700, []string{"made it private", `"mode_was":"0777"`}},
		{"another user's open dir is refused", 0o755, true, ExitUsage, 0o755, []string{"refusing to start", "belongs to user 65534", "set another state_dir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.foreign && os.Geteuid() != 0 {
				t.Skip("needs root to give the dir to another user")
			}
			f := newFixture(t, "")
			f.stateDir = filepath.Join(shortStateDir(t), "s")
			if err := os.Mkdir(f.stateDir, tc.mode); err != nil {
				t.Fatal(err)
			}
			if tc.foreign {
				if err := os.Chown(f.stateDir, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}
			yaml := "state_dir: " + f.stateDir + "\nlisten: 127.0.0.1:0\nsession_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n"
			if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, errOut := f.serveOnce(t)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			if fi, err := os.Stat(f.stateDir); err != nil || fi.Mode().Perm() != tc.wantMode {
				t.Errorf("state dir mode %v (%v), want %04o", fi.Mode().Perm(), err, tc.wantMode)
			}
			if tc.code != ExitOK && !strings.Contains(errOut, f.stateDir) {
				t.Errorf("stderr does not name %s:\n%s", f.stateDir, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if len(tc.want) == 0 && strings.Contains(errOut, "made it private") {
				t.Errorf("a private dir was reported as tightened:\n%s", errOut)
			}
		})
	}
}

// TestServeRefusesWhatAnotherUserOwns: a config file, a token or a state
// dir that another user owns stops `credd serve` (exit 2) naming the
// owner, whatever the modes say; so does a state dir that is a symbolic
// link to a directory others may enter, which keeps its mode.
func TestServeRefusesWhatAnotherUserOwns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		root  bool // needs root to give files away
		setup func(t *testing.T, f *fixture)
		want  []string
	}{
		{"config file", true, func(t *testing.T, f *fixture) {
			chown(t, f.cfgPath)
		}, []string{"belongs to user 65534", "not to this one"}},
		{"token", true, func(t *testing.T, f *fixture) {
			f.writeToken(t)
			chown(t, filepath.Join(f.stateDir, "token"))
		}, []string{"belongs to user 65534", "rm " + filepath.Join("STATE", "token")}},
		{"state dir, private", true, func(t *testing.T, f *fixture) {
			if err := os.Mkdir(f.stateDir, 0o700); err != nil {
				t.Fatal(err)
			}
			chown(t, f.stateDir)
		}, []string{"belongs to user 65534", "set another state_dir"}},
		{"state dir linked to an open dir", false, func(t *testing.T, f *fixture) {
			target := filepath.Join(f.dir, "open")
			if err := os.Mkdir(target, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(target, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, f.stateDir); err != nil {
				t.Fatal(err)
			}
		}, []string{"symbolic link to", "changes no mode through a link"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another user")
			}
			f := newFixture(t, "")
			f.stateDir = filepath.Join(shortStateDir(t), "s")
			yaml := "state_dir: " + f.stateDir + "\nlisten: 127.0.0.1:0\nsession_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n"
			if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, f)
			code, errOut := f.serveOnce(t)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d: %s", code, ExitUsage, errOut)
			}
			for _, w := range append([]string{"refusing to start"}, tc.want...) {
				if !strings.Contains(errOut, strings.ReplaceAll(w, "STATE", f.stateDir)) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if fi, err := os.Stat(filepath.Join(f.dir, "open")); err == nil && fi.Mode().Perm() != 0o755 {
				t.Errorf("the link's target was changed to %04o", fi.Mode().Perm())
			}
		})
	}
}

// chown gives path to nobody (65534).
func chown(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// TestServeRemovesWhatAKilledCreddLeft: a credd killed (kill -9) while it
// wrote its token leaves a .tmp-token-* in the state dir; the next start
// removes it, and nothing else.
func TestServeRemovesWhatAKilledCreddLeft(t *testing.T) {
	f := newFixture(t, "")
	f.stateDir = filepath.Join(shortStateDir(t), "s")
	yaml := "state_dir: " + f.stateDir + "\nlisten: 127.0.0.1:0\nsession_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n"
	if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f.writeToken(t)
	stale := filepath.Join(f.stateDir, ".tmp-token-4242")
	keep := []string{filepath.Join(f.stateDir, ".tmp-notes"), filepath.Join(f.stateDir, "token")}
	for _, p := range append([]string{stale}, keep[0]) {
		if err := os.WriteFile(p, []byte("half a tok"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, errOut := f.serveOnce(t)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Lstat(stale); err == nil {
		t.Errorf("%s is still there", stale)
	}
	for _, p := range keep {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed too: %v", p, err)
		}
	}
	if !strings.Contains(errOut, ".tmp-token-4242") {
		t.Errorf("the log does not say what was removed:\n%s", errOut)
	}
}
