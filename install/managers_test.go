package install

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"
)

// fakeTools records the service manager's tool calls and answers them.
type fakeTools struct {
	calls  []string
	answer func(line string, args []string) ([]byte, error)
}

func (f *fakeTools) run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, line)
	if f.answer != nil {
		return f.answer(line, args)
	}
	return nil, nil
}

func (f *fakeTools) take() []string {
	c := f.calls
	f.calls = nil
	return c
}

func failed(out string) error {
	return &CommandError{Command: "tool", ExitCode: 1, Output: out, Err: errors.New("exit status 1")}
}

func sameCalls(t *testing.T, step string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: calls\n  %s\nwant\n  %s", step, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestSystemdManager(t *testing.T) {
	configHome := filepath.Join(t.TempDir(), "xdg config")
	tools := &fakeTools{}
	m := NewSystemd(linuxUser, Env{ConfigHome: configHome, Run: tools.run})
	unitPath := filepath.Join(configHome, "systemd", "user", "credd.service")
	if m.Where() != unitPath {
		t.Fatalf("Where = %s, want %s", m.Where(), unitPath)
	}
	ctx := context.Background()

	if st, err := m.Status(ctx); err != nil || st.State != StateNotInstalled {
		t.Errorf("status before install: %+v %v", st, err)
	}
	if err := m.Start(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("start before install: %v", err)
	}
	if err := m.Uninstall(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("uninstall before install: %v", err)
	}

	changed, err := m.Install(ctx)
	if err != nil || !changed {
		t.Fatalf("install: changed=%v %v", changed, err)
	}
	sameCalls(t, "install", tools.take(), []string{"systemctl --user daemon-reload", "systemctl --user enable credd.service"})
	if got, _ := os.ReadFile(unitPath); !bytes.Equal(got, SystemdUnit(linuxUser)) {
		t.Errorf("written unit differs:\n%s", got)
	}

	changed, err = m.Install(ctx)
	if err != nil || changed {
		t.Errorf("second install: changed=%v %v, want unchanged", changed, err)
	}
	sameCalls(t, "second install", tools.take(), []string{"systemctl --user enable credd.service"})

	moved := linuxUser
	moved.Command = []string{"/usr/local/bin/credd", "serve"}
	if changed, err := NewSystemd(moved, Env{ConfigHome: configHome, Run: tools.run}).Install(ctx); err != nil || !changed {
		t.Errorf("install of a new definition: changed=%v %v", changed, err)
	}
	tools.take()
	if entries, _ := os.ReadDir(filepath.Dir(unitPath)); len(entries) != 1 {
		t.Errorf("unit dir holds %d entries, want 1 (no temp files, no duplicates)", len(entries))
	}

	for _, tc := range []struct {
		name, show string
		want       Status
	}{
		{"running", "ActiveState=active\nSubState=running\nResult=success\n", Status{State: StateRunning, Detail: "running"}},
		{"stopped", "ActiveState=inactive\nSubState=dead\nResult=success\n", Status{State: StateStopped, Detail: "dead"}},
		{"failed", "ActiveState=failed\nSubState=failed\nResult=exit-code\n", Status{State: StateStopped, Detail: "failed (exit-code)"}},
		{"starting", "ActiveState=activating\nSubState=auto-restart\n", Status{State: StateRunning, Detail: "activating"}},
	} {
		t.Run("status "+tc.name, func(t *testing.T) {
			tools.answer = func(string, []string) ([]byte, error) { return []byte(tc.show), nil }
			st, err := m.Status(ctx)
			if err != nil || st != tc.want {
				t.Errorf("status = %+v %v, want %+v", st, err, tc.want)
			}
			sameCalls(t, "status", tools.take(), []string{"systemctl --user show credd.service --property=ActiveState,SubState,Result"})
		})
	}
	tools.answer = nil

	for _, verb := range []string{"start", "stop", "restart"} {
		do := map[string]func(context.Context) error{"start": m.Start, "stop": m.Stop, "restart": m.Restart}[verb]
		if err := do(ctx); err != nil {
			t.Errorf("%s: %v", verb, err)
		}
		sameCalls(t, verb, tools.take(), []string{"systemctl --user " + verb + " credd.service"})
	}

	if err := m.Uninstall(ctx); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	sameCalls(t, "uninstall", tools.take(), []string{"systemctl --user stop credd.service", "systemctl --user disable credd.service", "systemctl --user daemon-reload"})
	if fileExists(unitPath) {
		t.Error("uninstall left the unit file")
	}
}

func TestSystemdManagerWithoutUserManager(t *testing.T) {
	configHome := t.TempDir()
	tools := &fakeTools{answer: func(string, []string) ([]byte, error) {
		return nil, failed("Failed to connect to bus: No medium found")
	}}
	m := NewSystemd(linuxUser, Env{ConfigHome: configHome, Run: tools.run})
	_, err := m.Install(context.Background())
	if err == nil || !strings.Contains(err.Error(), "loginctl enable-linger") || !strings.Contains(err.Error(), "wrote "+m.Where()) {
		t.Errorf("install without a user manager: %v", err)
	}
	if !fileExists(m.Where()) {
		t.Error("the unit should be written even when systemctl cannot be reached")
	}
	// Uninstall still removes the file, and says what failed.
	if err := m.Uninstall(context.Background()); err == nil || !strings.Contains(err.Error(), "removed") || fileExists(m.Where()) {
		t.Errorf("uninstall without a user manager: %v (file left: %v)", err, fileExists(m.Where()))
	}
}

func TestSystemdSystemScope(t *testing.T) {
	tools := &fakeTools{}
	m := NewSystemd(linuxSystem, Env{Run: tools.run})
	if m.Where() != "/etc/systemd/system/credd.service" || m.Kind() != "systemd system unit" || m.Logs() != "journalctl -u credd" {
		t.Errorf("system scope: %s, %s, %s", m.Where(), m.Kind(), m.Logs())
	}
}

func TestLaunchdManager(t *testing.T) {
	home := t.TempDir()
	def := darwinAgent
	def.LogDir = filepath.Join(home, "Library", "Logs", "credd")
	loaded := false
	tools := &fakeTools{}
	tools.answer = func(line string, args []string) ([]byte, error) {
		switch args[0] {
		case "print":
			if !loaded {
				return nil, failed("Could not find service")
			}
			return []byte("gui/501/com.github.credd.credd = {\n\tstate = running\n\tpid = 4242\n\tlast exit code = 0\n}\n"), nil
		case "bootstrap":
			loaded = true
		case "bootout":
			loaded = false
		}
		return nil, nil
	}
	m := NewLaunchd(def, Env{HomeDir: home, UID: 501, Run: tools.run})
	plist := filepath.Join(home, "Library", "LaunchAgents", Label+".plist")
	ctx := context.Background()
	if m.Where() != plist {
		t.Fatalf("Where = %s", m.Where())
	}

	changed, err := m.Install(ctx)
	if err != nil || !changed {
		t.Fatalf("install: %v %v", changed, err)
	}
	sameCalls(t, "install", tools.take(), []string{"launchctl print gui/501/" + Label, "launchctl enable gui/501/" + Label})
	if fi, err := os.Stat(def.LogDir); err != nil || !fi.IsDir() {
		t.Errorf("log dir not created: %v", err)
	}

	if st, _ := m.Status(ctx); st.State != StateStopped || st.Detail != "not loaded" {
		t.Errorf("status after install: %+v", st)
	}
	tools.take()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sameCalls(t, "start", tools.take(), []string{"launchctl print gui/501/" + Label, "launchctl bootstrap gui/501 " + plist})
	if st, _ := m.Status(ctx); st != (Status{State: StateRunning, Detail: "pid 4242"}) {
		t.Errorf("status when running: %+v", st)
	}
	tools.take()
	if err := m.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	sameCalls(t, "restart", tools.take(), []string{"launchctl print gui/501/" + Label, "launchctl kickstart -k gui/501/" + Label})

	// A new definition unloads the old one so the next start reads it.
	def.Command = []string{"/usr/local/bin/credd", "serve"}
	m2 := NewLaunchd(def, Env{HomeDir: home, UID: 501, Run: tools.run})
	if changed, err := m2.Install(ctx); err != nil || !changed {
		t.Fatalf("update: %v %v", changed, err)
	}
	sameCalls(t, "update", tools.take(), []string{"launchctl print gui/501/" + Label, "launchctl bootout gui/501/" + Label, "launchctl enable gui/501/" + Label})
	if changed, _ := m2.Install(ctx); changed {
		t.Error("installing the same definition again reported a change")
	}
	tools.take()

	if err := m2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tools.take()
	if err := m2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	sameCalls(t, "stop", tools.take(), []string{"launchctl print gui/501/" + Label, "launchctl bootout gui/501/" + Label})
	if err := m2.Uninstall(ctx); err != nil || fileExists(plist) {
		t.Errorf("uninstall: %v, plist left: %v", err, fileExists(plist))
	}
	if err := m2.Uninstall(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second uninstall: %v", err)
	}
}

func TestParseLaunchctlPrint(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      Status
	}{
		{"running", "state = running\n\tpid = 12\n", Status{State: StateRunning, Detail: "pid 12"}},
		{"waiting after a crash", "\tstate = waiting\n\tlast exit code = 2\n", Status{State: StateStopped, Detail: "waiting, last exit code 2"}},
		{"nested states do not count", "state = not running\n\tsubsystem = {\n\t\tstate = active\n\t}\n", Status{State: StateStopped, Detail: "not running"}},
		{"nothing", "", Status{State: StateUnknown, Detail: "launchctl print said no state"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseLaunchctlPrint([]byte(tc.out)); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTaskSchedulerManager(t *testing.T) {
	installed, state := false, "Ready"
	var registered []byte
	tools := &fakeTools{}
	tools.answer = func(line string, args []string) ([]byte, error) {
		switch {
		case args[0] == "/Query":
			if !installed {
				return nil, failed("ERROR: The system cannot find the file specified.")
			}
		case args[0] == "/Create":
			b, err := os.ReadFile(args[4])
			if err != nil {
				return nil, err
			}
			registered, installed = b, true
		case args[0] == "/Delete":
			installed = false
		case args[0] == "/Run":
			state = "Running"
		case args[0] == "/End":
			state = "Ready"
		case strings.HasPrefix(line, "powershell"):
			return []byte(state + "\r\n"), nil
		}
		return nil, nil
	}
	m := NewTaskScheduler(windowsUser, Env{Run: tools.run})
	ctx := context.Background()
	if st, _ := m.Status(ctx); st.State != StateNotInstalled {
		t.Errorf("status before install: %+v", st)
	}
	tools.take()
	if changed, err := m.Install(ctx); err != nil || !changed {
		t.Fatalf("install: %v %v", changed, err)
	}
	calls := tools.take()
	if len(calls) != 1 || !strings.HasPrefix(calls[0], `schtasks /Create /TN \credd /XML `) || !strings.HasSuffix(calls[0], " /F") {
		t.Errorf("install calls: %q", calls)
	}
	u := make([]uint16, 0, len(registered)/2)
	for i := 2; i+1 < len(registered); i += 2 {
		u = append(u, uint16(registered[i])|uint16(registered[i+1])<<8)
	}
	if got := strings.ReplaceAll(string(utf16.Decode(u)), "\r\n", "\n"); got != string(TaskXML(windowsUser)) {
		t.Errorf("registered XML differs from TaskXML:\n%s", got)
	}
	if matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "credd-task-*.xml")); len(matches) != 0 {
		t.Errorf("temporary task files left: %v", matches)
	}
	if st, _ := m.Status(ctx); st != (Status{State: StateStopped, Detail: "ready"}) {
		t.Errorf("status after install: %+v", st)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(ctx); st.State != StateRunning {
		t.Errorf("status after start: %+v", st)
	}
	tools.take()
	if err := m.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, c := range tools.take() {
		if strings.HasPrefix(c, "schtasks /End") || strings.HasPrefix(c, "schtasks /Run") {
			verbs = append(verbs, strings.Fields(c)[1])
		}
	}
	if strings.Join(verbs, " ") != "/End /Run" {
		t.Errorf("restart ran %v, want /End then /Run", verbs)
	}
	if err := m.Uninstall(ctx); err != nil || installed {
		t.Errorf("uninstall: %v (still installed: %v)", err, installed)
	}
	if err := m.Stop(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("stop after uninstall: %v", err)
	}
}

func TestParseTaskState(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Status
	}{
		{"Running\r\n", Status{State: StateRunning}},
		{"Ready", Status{State: StateStopped, Detail: "ready"}},
		{"Disabled", Status{State: StateStopped, Detail: "disabled"}},
		{"", Status{State: StateUnknown}},
	} {
		t.Run(strings.TrimSpace(tc.in)+"-", func(t *testing.T) {
			if got := parseTaskState(tc.in); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestExecRunner(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as the tool")
	}
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"args: $*\"\n[ \"$1\" = fail ] && { echo broken >&2; exit 3; }\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	run := ExecRunner(dir, nil, 10e9)
	out, err := run(context.Background(), "systemctl", "--user", "enable")
	if err != nil || strings.TrimSpace(string(out)) != "args: --user enable" {
		t.Errorf("ok run: %q %v", out, err)
	}
	_, err = run(context.Background(), "systemctl", "fail")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 3 || !strings.Contains(err.Error(), "broken") || exitCode(err) != 3 {
		t.Errorf("failing run: %v", err)
	}
	_, err = run(context.Background(), "launchctl")
	if !errors.Is(err, ErrToolNotFound) {
		t.Errorf("missing tool: %v", err)
	}
	if _, err := exec.LookPath("sh"); err == nil {
		if _, err := ExecRunner("", nil, 10e9)(context.Background(), "/bin/sh", "-c", "exit 0"); err != nil {
			t.Errorf("absolute path: %v", err)
		}
	}
}
