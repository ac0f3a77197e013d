//go:build unix

package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
			// Under umask 0 the home t.TempDir made is 0777: credd would
			// refuse ~/.aws/config there (anyone could create it).
			if err := os.Chmod(f.dir, 0o755); err != nil {
				t.Fatal(err)
			}
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
// removes it, and nothing else; so is a client's token half written a
// while ago.
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
	// A client's token, left half written by `credd client token` two
	// minutes ago.
	staleClient := filepath.Join(f.stateDir, "clients", ".tmp-ci.token-77")
	if err := os.MkdirAll(filepath.Dir(staleClient), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(staleClient, []byte("half a tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	then := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(staleClient, then, then); err != nil {
		t.Fatal(err)
	}
	code, errOut := f.serveOnce(t)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, p := range []string{stale, staleClient} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range keep {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed too: %v", p, err)
		}
	}
	for _, w := range []string{".tmp-token-4242", ".tmp-ci.token-77"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("the log does not say %s was removed:\n%s", w, errOut)
		}
	}
}

// TestServeRefusesAWSFilesOthersCanChange: a shared AWS file that another
// user could change (adding a credential_process credd would run) stops
// `credd serve` (exit 2), naming the file and the fix, when credd serves
// profiles from it: those of an aws_profile source, or every profile in
// zero-config mode. A config without aws_profile sources does not read
// them, and starts.
func TestServeRefusesAWSFilesOthersCanChange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		root     bool
		zero     bool   // no credd config: serve ~/.aws/config
		profiles string // credd's profiles, without zero
		file     string // config or credentials, under ~/.aws
		setup    func(t *testing.T, path string)
		want     []string // "" for a start
	}{
		{"config others may write", false, false, "  dev: {aws_profile: dev}\n", "config",
			func(t *testing.T, p string) { chmod(t, p, 0o666) }, []string{"is writable by group or others (mode 0666)", "chmod go-w"}},
		{"credentials of another user", true, false, "  dev: {aws_profile: dev}\n", "credentials",
			func(t *testing.T, p string) { chown(t, p) }, []string{"belongs to user 65534 (nobody)"}},
		{"zero-config, config others may write", false, true, "", "config",
			func(t *testing.T, p string) { chmod(t, p, 0o620) }, []string{"(mode 0620)", "chmod go-w"}},
		{"zero-config, ~/.aws others may write", false, true, "", "config",
			func(t *testing.T, p string) { chmod(t, filepath.Dir(p), 0o777) }, []string{"the directory " + filepath.Join("HOME", ".aws") + " on the way to it is writable by group or others"}},
		{"no aws_profile source", false, false, "  dev: {sso_session: corp, account_id: \"111122223333\", role_name: Developer}\nsso_sessions:\n  corp: {start_url: \"https://corp.awsapps.com/start\", region: eu-west-1}\n", "config",
			func(t *testing.T, p string) { chmod(t, p, 0o666) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("needs root to give a file to another user")
			}
			f := newFixture(t, "")
			f.stateDir = filepath.Join(shortStateDir(t), "s")
			aws := filepath.Join(f.dir, ".aws")
			if err := os.Mkdir(aws, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"config", "credentials"} {
				if err := os.WriteFile(filepath.Join(aws, n), []byte("[profile dev]\nregion = eu-west-1\n[dev]\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"serve"}
			env := f.env
			if tc.zero {
				env["CREDD_STATE_DIR"], env["CREDD_LISTEN"], env["CREDD_SESSION_STORE"] = f.stateDir, "127.0.0.1:0", "memory"
			} else {
				yaml := "state_dir: " + f.stateDir + "\nlisten: 127.0.0.1:0\nsession_store: memory\nprofiles:\n" + tc.profiles
				if err := os.WriteFile(f.cfgPath, []byte(yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				args = []string{"--config", f.cfgPath, "serve"}
			}
			path := filepath.Join(aws, tc.file)
			tc.setup(t, path)
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // serve stops as soon as it started
			var errb bytes.Buffer
			code := Run(ctx, args, IO{In: strings.NewReader(""), Out: io.Discard, Err: &errb,
				Getenv: func(k string) string { return env[k] }, Notify: func(string, string) {}})
			if tc.want == nil {
				if code != ExitOK {
					t.Errorf("exit %d, want a start: %s", code, errb.String())
				}
				return
			}
			if code != ExitUsage {
				t.Errorf("exit %d, want %d: %s", code, ExitUsage, errb.String())
			}
			for _, w := range append([]string{path + ": ", "credd reads no profile from it until then"}, tc.want...) {
				if !strings.Contains(errb.String(), strings.ReplaceAll(w, "HOME", f.dir)) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
