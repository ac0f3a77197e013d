package install

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
)

// TestNewPlan: what a service pins of the shell that installs it, and
// what it tells the user about what it cannot.
func TestNewPlan(t *testing.T) {
	dir := t.TempDir()
	binary := filepath.Join(dir, "credd")
	if err := os.WriteFile(binary, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	xdgState := filepath.Join(dir, "xdg-state")
	cfgFile := config.Loaded{Path: filepath.Join(dir, "config.yaml"), FromFile: true}
	for _, tc := range []struct {
		name     string
		os       string
		scope    Scope
		loaded   config.Loaded
		env      map[string]string
		flags    [][2]string
		runAs    string
		environ  []string
		wantArgs string   // the command line after the binary
		notes    []string // substrings, one note each, in order
		purge    []string
		wantErr  error
		xdg      bool // XDG directories: not on Windows and macOS
	}{
		{
			name: "the config file pinned by its absolute path", os: "linux", loaded: cfgFile,
			wantArgs: "serve --config " + cfgFile.Path, purge: []string{cfgFile.Path, "STATE"},
		},
		{
			name: "global flags kept in order, the state dir made absolute", os: "linux", loaded: cfgFile,
			flags:    [][2]string{{"listen", "127.0.0.1:9956"}, {"state-dir", "rel"}, {"log-level", "debug"}},
			wantArgs: "serve --config " + cfgFile.Path + " --listen 127.0.0.1:9956 --state-dir " + filepath.Join(must(os.Getwd()), "rel") + " --log-level debug",
		},
		{
			name: "no config file: nothing pinned, and said", os: "linux",
			loaded:   config.Loaded{Path: filepath.Join(dir, "nowhere.yaml")},
			wantArgs: "serve", notes: []string{"no config file at " + filepath.Join(dir, "nowhere.yaml")}, purge: []string{"STATE"},
		},
		{
			name: "XDG_STATE_HOME decides the state dir: pinned, and said", os: "linux", loaded: cfgFile,
			env: map[string]string{"XDG_STATE_HOME": xdgState}, xdg: true,
			wantArgs: "serve --config " + cfgFile.Path + " --state-dir " + filepath.Join(xdgState, "credd"),
			notes:    []string{"XDG_STATE_HOME=" + xdgState + " in this shell puts the state dir at " + filepath.Join(xdgState, "credd")},
		},
		{
			name: "a state_dir of the config file's own is not pinned", os: "linux",
			loaded:   config.Loaded{Path: cfgFile.Path, FromFile: true, SetsStateDir: true},
			env:      map[string]string{"XDG_STATE_HOME": xdgState},
			wantArgs: "serve --config " + cfgFile.Path,
		},
		{
			name: "CREDD_ variables do not reach the service: said", os: "linux", loaded: cfgFile,
			environ:  []string{"CREDD_LISTEN=127.0.0.1:1", "CREDD_CONFIG=x", "PATH=/bin", "CREDD_IMDS_ALLOW_V1=true"},
			wantArgs: "serve --config " + cfgFile.Path,
			notes:    []string{"CREDD_IMDS_ALLOW_V1, CREDD_LISTEN set in this shell"},
		},
		{
			name: "XDG_CONFIG_HOME: where a systemd user unit goes, said", os: "linux", loaded: cfgFile,
			env: map[string]string{"XDG_CONFIG_HOME": filepath.Join(dir, "xdg-config")}, xdg: true,
			wantArgs: "serve --config " + cfgFile.Path,
			notes:    []string{"the unit goes to " + filepath.Join(dir, "xdg-config", "systemd", "user")},
		},
		{
			name: "a Windows service needs a config file", os: "windows", scope: System,
			loaded: config.Loaded{Path: filepath.Join(dir, "nowhere.yaml")}, wantErr: cred.ErrInvalid,
		},
		{
			name: "macOS: the logs are purged too", os: "darwin", loaded: cfgFile,
			wantArgs: "serve --config " + cfgFile.Path, purge: []string{cfgFile.Path, "STATE", path.Join(home, "Library", "Logs", "credd")}, // a macOS path, slash-separated wherever rendered
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.xdg && (runtime.GOOS == "windows" || runtime.GOOS == "darwin") {
				t.Skip("XDG directories: not on " + runtime.GOOS)
			}
			env := map[string]string{"HOME": home, "USERPROFILE": home, "AppData": filepath.Join(home, "AppData")}
			for k, v := range tc.env {
				env[k] = v
			}
			getenv := func(k string) string { return env[k] }
			l := tc.loaded
			if l.Config.StateDir, _ = config.DefaultStateDir(getenv); l.SetsStateDir {
				l.Config.StateDir = filepath.Join(dir, "own-state")
			}
			p, err := NewPlan(Shell{OS: tc.os, Scope: tc.scope, Binary: binary, CheckBinary: true, Config: l, Flags: tc.flags,
				RunAs: tc.runAs, UserName: "alice", Getenv: getenv, Environ: tc.environ, Run: (&fakeTools{}).run})
			if tc.wantErr != nil || err != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("NewPlan: %v, want %v", err, tc.wantErr)
				}
				return
			}
			cmd := p.Definition.Command
			if cmd[0] != binary || (tc.os != "windows" && strings.Join(cmd[1:], " ") != tc.wantArgs) {
				t.Errorf("command %q, want %s %s", cmd, binary, tc.wantArgs)
			}
			if len(p.Notes) != len(tc.notes) {
				t.Errorf("notes %q, want %d like %q", p.Notes, len(tc.notes), tc.notes)
			}
			for i, want := range tc.notes {
				if i < len(p.Notes) && !strings.Contains(p.Notes[i], want) {
					t.Errorf("note %d: %q, want %q in it", i, p.Notes[i], want)
				}
			}
			if tc.purge != nil {
				want := slices.Clone(tc.purge)
				want[slices.Index(want, "STATE")] = l.Config.StateDir
				if !slices.Equal(p.Purge, want) {
					t.Errorf("purge %q, want %q", p.Purge, want)
				}
			}
			if p.Env.HomeDir != home {
				t.Errorf("home %q, want %q", p.Env.HomeDir, home)
			}
		})
	}
}

// TestNewPlanSystemUser: a system service runs as --user, else SUDO_USER,
// else the user who installs it.
func TestNewPlanSystemUser(t *testing.T) {
	binary := filepath.Join(t.TempDir(), "credd")
	if err := os.WriteFile(binary, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, runAs, sudo, want string }{
		{"--user", "bob", "carol", "bob"},
		{"SUDO_USER", "", "carol", "carol"},
		{"this user", "", "", "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// AppData: the config dir is found as the OS running the test
			// finds it (Windows tests run too).
			env := map[string]string{"HOME": "/home/alice", "AppData": `C:\Users\alice\AppData\Roaming`, "SUDO_USER": tc.sudo}
			p, err := NewPlan(Shell{OS: "linux", Scope: System, Binary: binary, Config: config.Loaded{Path: "/etc/credd.yaml", FromFile: true},
				RunAs: tc.runAs, UserName: "alice", Getenv: func(k string) string { return env[k] }, Run: (&fakeTools{}).run})
			if err != nil || p.Definition.UserName != tc.want {
				t.Errorf("runs as %q (%v), want %q", p.Definition.UserName, err, tc.want)
			}
		})
	}
}

// stubManager is a Manager whose service is in state, recording what it
// was asked.
type stubManager struct {
	Manager
	state      State
	changed    bool
	installErr error
	startErr   error
	calls      []string
}

func (m *stubManager) Status(context.Context) (Status, error) { return Status{State: m.state}, nil }
func (m *stubManager) Install(context.Context) (bool, error) {
	m.calls = append(m.calls, "install")
	return m.changed, m.installErr
}
func (m *stubManager) Start(context.Context) error {
	m.calls = append(m.calls, "start")
	return m.startErr
}
func (m *stubManager) Restart(context.Context) error {
	m.calls = append(m.calls, "restart")
	return m.startErr
}

func TestInstallAndStart(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name     string
		m        stubManager
		start    bool
		wantVerb string
		wantRun  string
		calls    string
		wantErr  error
	}{
		{name: "new: installed and started", m: stubManager{state: StateNotInstalled, changed: true}, start: true, wantVerb: "installed", wantRun: "started", calls: "install start"},
		{name: "new, --no-start", m: stubManager{state: StateNotInstalled, changed: true}, wantVerb: "installed", calls: "install"},
		{name: "running an older definition: restarted", m: stubManager{state: StateRunning, changed: true}, start: true, wantVerb: "updated", wantRun: "restarted", calls: "install restart"},
		{name: "running this definition: left alone", m: stubManager{state: StateRunning}, start: true, wantVerb: "already installed, unchanged:", wantRun: "already running", calls: "install"},
		{name: "stopped, unchanged: started", m: stubManager{state: StateStopped}, start: true, wantVerb: "already installed, unchanged:", wantRun: "started", calls: "install start"},
		{name: "install fails: not started", m: stubManager{state: StateNotInstalled, installErr: boom}, start: true, calls: "install", wantErr: boom},
		{name: "start fails", m: stubManager{state: StateStopped, changed: true, startErr: boom}, start: true, wantVerb: "updated", wantRun: "started", calls: "install start", wantErr: boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			o, err := InstallAndStart(t.Context(), &m, tc.start)
			if !errors.Is(err, tc.wantErr) || strings.Join(m.calls, " ") != tc.calls {
				t.Fatalf("err %v, calls %q; want %v, %q", err, m.calls, tc.wantErr, tc.calls)
			}
			if o.Installed != (tc.m.installErr == nil) || (o.Installed && o.Verb() != tc.wantVerb) || o.Run != tc.wantRun {
				t.Errorf("installed %v, verb %q, run %q; want verb %q, run %q", o.Installed, o.Verb(), o.Run, tc.wantVerb, tc.wantRun)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
