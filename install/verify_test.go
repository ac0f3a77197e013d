package install

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/credd/credd/internal/peertest"
)

// requireTool finds a real peer tool (see internal/peertest).
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	return peertest.Tool(t, name, install)
}

// systemdVerify runs the real `systemd-analyze verify` on a unit file and
// returns everything it said.
func systemdVerify(t *testing.T, unit string, userMode bool, env []string) (string, error) {
	t.Helper()
	bin := requireTool(t, "systemd-analyze", "apt-get install systemd")
	args := []string{"verify", "--no-pager"}
	if userMode {
		args = append(args, "--user")
	}
	cmd := exec.Command(bin, append(args, unit)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// fakeCredd is an executable the verified units can point at (systemd
// checks that ExecStart's program exists and is executable).
func fakeCredd(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "credd")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// The Linux installer path as a user takes it: install into a temporary
// XDG_CONFIG_HOME (no user systemd runs here, so systemctl is a fake), then
// the real systemd-analyze verifies the written unit as the user manager
// would load it.
func TestSystemdUserUnitVerifies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd is Linux")
	}
	tmp := t.TempDir()
	configHome := filepath.Join(tmp, "xdg config")
	runtimeDir := filepath.Join(tmp, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	def := Definition{Scope: User, Command: []string{
		fakeCredd(t, filepath.Join(tmp, "bin dir")), "serve", "--config", filepath.Join(configHome, "credd 100%", "config.yaml"),
	}}
	tools := &fakeTools{}
	m := NewSystemd(def, Env{HomeDir: tmp, ConfigHome: configHome, Run: tools.run})
	if _, err := m.Install(context.Background()); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + tmp, "XDG_CONFIG_HOME=" + configHome, "XDG_RUNTIME_DIR=" + runtimeDir, "PATH=" + os.Getenv("PATH")}
	out, err := systemdVerify(t, m.Where(), true, env)
	if err != nil || out != "" {
		t.Errorf("systemd-analyze verify --user %s: %v\n%s", m.Where(), err, out)
	}

	// The verifier is a real judge: a typo in the unit is reported.
	broken := filepath.Join(tmp, "broken", "credd.service")
	os.MkdirAll(filepath.Dir(broken), 0o755)
	unit := strings.Replace(string(SystemdUnit(def)), "Restart=on-failure", "Restrat=on-failure", 1)
	if err := os.WriteFile(broken, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := systemdVerify(t, broken, true, env); !strings.Contains(out, "Restrat") {
		t.Errorf("a broken unit passed verification: %q", out)
	}
}

func TestSystemdSystemUnitVerifies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd is Linux")
	}
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	tmp := t.TempDir()
	def := Definition{Scope: System, UserName: u.Username, Command: []string{fakeCredd(t, filepath.Join(tmp, "bin")), "serve", "--config", "/etc/credd/config.yaml"}}
	unit := filepath.Join(tmp, "credd.service")
	if err := os.WriteFile(unit, SystemdUnit(def), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := systemdVerify(t, unit, false, os.Environ())
	if err != nil || out != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
}

// plutil is Apple's property list checker: run it where it exists.
func TestLaunchdPlistLints(t *testing.T) {
	plutil, err := exec.LookPath("plutil")
	if err != nil {
		t.Skip("plutil is macOS only; TestLaunchdPlistParses checks the XML everywhere")
	}
	p := filepath.Join(t.TempDir(), Label+".plist")
	if err := os.WriteFile(p, LaunchdPlist(darwinAgent), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(plutil, "-lint", p).CombinedOutput(); err != nil {
		t.Errorf("plutil -lint: %v\n%s", err, out)
	}
}
