package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/credd/credd/cmd/credd/cli"
	"github.com/credd/credd/control"
	"github.com/credd/credd/internal/peertest"
)

// TestAnotherUserCannotAddAProfile is the attack of issue 12: the user's
// ~/.aws/config is world-writable (chmod 666), and another account (UID
// 65534, a real process through setpriv) appends a profile whose
// credential_process is its own script. credd used to hot-reload it and
// run the script as the user at the next request. Now the watcher refuses
// the chmod at once and the edit after it, naming the file; `credd
// reload` says why (exit 2); the profile is not served and the script
// never runs, while the profiles in force keep being served. Once the
// user restored the file and made it private, the chmod is taken.
func TestAnotherUserCannotAddAProfile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("setpriv is Linux's")
	}
	if os.Geteuid() != 0 {
		peertest.Require(t, "root (to write a file as another UID)", os.ErrPermission)
	}
	setpriv := peertest.Tool(t, "setpriv", "apt-get install util-linux")
	_, devSec := newProcessProfile(t, "dev")
	s := newServed(t, "", devSec)
	s.startZeroConfig(t, "dev")
	token := s.token(t)
	if code, err := s.getCreds("dev", token); code != 200 {
		t.Fatalf("dev: %d %v", code, err)
	}

	// The other user's script, and the way to the file for that user.
	evilDir := t.TempDir()
	marker := filepath.Join(evilDir, "ran")
	script := filepath.Join(evilDir, "x.sh")
	writeFile(t, script, "#!/bin/sh\ntouch "+marker+"\necho '{\"Version\":1,\"AccessKeyId\":\"ASIAEVIL\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\"}'\n")
	awsCfg := s.env["AWS_CONFIG_FILE"]
	for _, p := range []string{filepath.Dir(s.dir), s.dir} {
		if err := os.Chmod(p, 0o711); err != nil { // others may pass, not write
			t.Fatal(err)
		}
	}
	for p, mode := range map[string]os.FileMode{script: 0o755, evilDir: 0o755, awsCfg: 0o666} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	// The chmod alone is refused at once, before anyone wrote.
	s.waitStatus(t, "the refusal of the chmod", func(control.Status) bool {
		return strings.Contains(s.logs.String(), `"msg":"reload refused: the configuration in force stays"`)
	})

	evil := "[profile evil]\ncredential_process = " + script + "\n"
	out, err := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c", `printf '%s' "$1" >> "$2"`, "sh", evil, awsCfg).CombinedOutput()
	if err != nil {
		t.Fatalf("UID 65534 could not append to the 0666 file: %v: %s", err, out)
	}
	if b, _ := os.ReadFile(awsCfg); !strings.Contains(string(b), "[profile evil]") {
		t.Fatalf("the file does not hold the other user's profile:\n%s", b)
	}
	s.waitStatus(t, "the watcher's refusal of the edit", func(control.Status) bool {
		return strings.Count(s.logs.String(), `"msg":"reload refused: the configuration in force stays"`) >= 2
	})
	if logs := s.logs.String(); !strings.Contains(logs, awsCfg+": it is writable by group or others (mode 0666)") {
		t.Errorf("the refusal does not name the file and why:\n%s", logs)
	}
	var rout, rerr bytes.Buffer
	if code := cli.Run(t.Context(), []string{"reload"}, s.io(&rout, &rerr)); code != cli.ExitUsage || !strings.Contains(rerr.String(), awsCfg) || !strings.Contains(rerr.String(), "chmod go-w") {
		t.Errorf("credd reload: exit %d: %s", code, rerr.String())
	}
	if names := profileNames(zeroStatus(t, s)); names != "dev" {
		t.Errorf("profiles %s, want dev", names)
	}
	if code, _ := s.getCreds("evil", token); code != 404 {
		t.Errorf("evil: %d, want 404", code)
	}
	if code, err := s.getCreds("dev", token); code != 200 {
		t.Errorf("dev after the refusal: %d %v", code, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the other user's credential_process ran as this user")
	}

	// The user restores the file and makes it private: the chmod alone
	// is taken, with no other edit or reload command.
	writeFile(t, awsCfg, devSec)
	s.waitStatus(t, "the refusal of the restored file, still 0666", func(control.Status) bool {
		return strings.Count(s.logs.String(), `"msg":"reload refused: the configuration in force stays"`) >= 3
	})
	reloads := strings.Count(s.logs.String(), `"msg":"reloaded"`)
	if err := os.Chmod(awsCfg, 0o600); err != nil {
		t.Fatal(err)
	}
	s.waitStatus(t, "the reload of the chmod", func(control.Status) bool {
		return strings.Count(s.logs.String(), `"msg":"reloaded"`) > reloads
	})
	rerr.Reset()
	if code := cli.Run(t.Context(), []string{"reload"}, s.io(&rout, &rerr)); code != 0 {
		t.Errorf("credd reload of the restored file: exit %d: %s", code, rerr.String())
	}
	if names := profileNames(zeroStatus(t, s)); names != "dev" {
		t.Errorf("profiles %s after the fix, want dev", names)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the other user's credential_process ran as this user")
	}
}

// zeroStatus is the daemon's status in zero-config mode (no --config).
func zeroStatus(t *testing.T, s *served) control.Status {
	t.Helper()
	st, err := control.NewClient(s.stateDir).Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
