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
		{"another user's open dir is refused", 0o755, true, ExitUsage, 0o755, []string{"refusing to start", "belongs to user 65534", "chmod 700"}},
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
