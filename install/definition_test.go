package install

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/credd/credd/cred"
)

func TestNewDefinition(t *testing.T) {
	base := Spec{Binary: "/opt/credd", ConfigFile: "/home/u/.config/credd/config.yaml", StateDir: "/home/u/state", Home: "/home/u", UserName: "u", UserID: "S-1-5-21-1"}
	with := func(f func(*Spec)) Spec { s := base; f(&s); return s }
	for _, tc := range []struct {
		name string
		spec Spec
		want Definition
	}{
		{"linux user", with(func(s *Spec) { s.OS = "linux" }),
			Definition{Scope: User, Command: []string{"/opt/credd", "serve", "--config", base.ConfigFile}}},
		{"linux system runs as the user", with(func(s *Spec) { s.OS, s.Scope = "linux", System }),
			Definition{Scope: System, UserName: "u", Command: []string{"/opt/credd", "serve", "--config", base.ConfigFile}}},
		{"flags kept in order", with(func(s *Spec) { s.OS, s.Flags = "linux", []string{"--listen", "127.0.0.1:1", "--state-dir", "/s"} }),
			Definition{Scope: User, Command: []string{"/opt/credd", "serve", "--config", base.ConfigFile, "--listen", "127.0.0.1:1", "--state-dir", "/s"}}},
		{"no config file: nothing pinned", with(func(s *Spec) { s.OS, s.ConfigFile = "linux", "" }),
			Definition{Scope: User, Command: []string{"/opt/credd", "serve"}}},
		{"macOS agent logs in the home", with(func(s *Spec) { s.OS = "darwin" }),
			Definition{Scope: User, LogDir: "/home/u/Library/Logs/credd", Command: []string{"/opt/credd", "serve", "--config", base.ConfigFile}}},
		{"macOS daemon logs in /Library", with(func(s *Spec) { s.OS, s.Scope = "darwin", System }),
			Definition{Scope: System, UserName: "u", LogDir: "/Library/Logs/credd", Command: []string{"/opt/credd", "serve", "--config", base.ConfigFile}}},
		{"Windows task: service run and a log file", with(func(s *Spec) { s.OS = "windows" }),
			Definition{Scope: User, UserID: "S-1-5-21-1", Command: []string{"/opt/credd", "service", "run", "--config", base.ConfigFile, "--log-file", filepath.Join(base.StateDir, LogFile)}}},
		{"Windows service pins the state dir", with(func(s *Spec) { s.OS, s.Scope = "windows", System }),
			Definition{Scope: System, UserName: "u", UserID: "S-1-5-21-1", Command: []string{"/opt/credd", "service", "run", "--config", base.ConfigFile, "--state-dir", base.StateDir, "--log-file", filepath.Join(base.StateDir, LogFile)}}},
		{"Windows service with --state-dir given", with(func(s *Spec) { s.OS, s.Scope, s.Flags = "windows", System, []string{"--state-dir", "/s"} }),
			Definition{Scope: System, UserName: "u", UserID: "S-1-5-21-1", Command: []string{"/opt/credd", "service", "run", "--config", base.ConfigFile, "--state-dir", "/s", "--log-file", filepath.Join(base.StateDir, LogFile)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewDefinition(tc.spec)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("NewDefinition = %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
	_, err := NewDefinition(with(func(s *Spec) { s.OS, s.Scope, s.ConfigFile = "windows", System, "" }))
	if !errors.Is(err, cred.ErrInvalid) || !strings.Contains(err.Error(), "--config") {
		t.Errorf("a Windows service without a config file: %v", err)
	}
}

func TestBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "credd")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Binary(exe, true); err != nil || got != exe {
		t.Errorf("Binary(%s) = %q, %v", exe, got, err)
	}
	for _, bad := range []string{dir, filepath.Join(dir, "missing")} {
		if _, err := Binary(bad, true); !errors.Is(err, cred.ErrInvalid) {
			t.Errorf("Binary(%s) = %v, want an invalid request", bad, err)
		}
	}
	// The test binary is a go build of its own: pinned only when not checked.
	self, _ := os.Executable()
	if got, err := Binary("", false); err != nil || got != self {
		t.Errorf("Binary unchecked = %q, %v; want %q", got, err, self)
	}
	if _, err := Binary("", true); strings.Contains(filepath.ToSlash(self), "/go-build") && !errors.Is(err, cred.ErrInvalid) {
		t.Errorf("Binary of a go build, checked: %v", err)
	}
}

func TestOpenLogStartsANewLogPastMaxLogSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "credd.log")
	f, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxLogSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if f, err = OpenLog(path); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, err := os.Stat(path + ".1"); err != nil || fi.Size() != MaxLogSize+1 {
		t.Errorf("the old log: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("the new log: %v", err)
	}
}
