package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestOpen(t *testing.T) {
	working := func(t *testing.T) *fakeKeyring { return &fakeKeyring{} }
	failing := func(t *testing.T) *fakeKeyring {
		return &fakeKeyring{err: errors.New("dbus: The name org.freedesktop.secrets was not provided")}
	}
	hanging := func(t *testing.T) *fakeKeyring {
		fk := &fakeKeyring{block: make(chan struct{})}
		t.Cleanup(func() { close(fk.block) }) // before the bubble ends
		return fk
	}
	cases := []struct {
		name     string
		kind     string
		keyring  func(t *testing.T) *fakeKeyring
		noState  bool
		wantKind string
		wantErr  []string // substrings of the error
		wantLog  []string // substrings of the log
	}{
		{name: "memory", kind: "memory", keyring: failing, wantKind: "memory", wantLog: []string{"store=memory"}},
		{name: "file", kind: "file", keyring: working, wantKind: "file", wantLog: []string{"store=file", "sessions"}},
		{name: "file without a state dir", kind: "file", keyring: working, noState: true, wantErr: []string{"no state dir"}},
		{name: "keyring answers", kind: "keyring", keyring: working, wantKind: "keyring", wantLog: []string{"store=keyring", Backend()}},
		{name: "keyring fails", kind: "keyring", keyring: failing, wantErr: []string{"session_store keyring", Backend(), "org.freedesktop.secrets", "session_store to file"}},
		{name: "keyring hangs", kind: "keyring", keyring: hanging, wantErr: []string{Backend(), "did not answer within"}},
		{name: "auto with a keyring", kind: "auto", keyring: working, wantKind: "keyring", wantLog: []string{"store=keyring", "keyring answered"}},
		{name: "auto without a keyring", kind: "auto", keyring: failing, wantKind: "file", wantLog: []string{"store=file", "no OS keyring answered", "org.freedesktop.secrets"}},
		{name: "auto with a hanging keyring", kind: "auto", keyring: hanging, wantKind: "file", wantLog: []string{"store=file", "did not answer within"}},
		{name: "auto without a keyring or state dir", kind: "auto", keyring: failing, noState: true, wantErr: []string{"no state dir", "no OS keyring answered"}},
		{name: "empty is auto", kind: "", keyring: failing, wantKind: "file"},
		{name: "unknown kind", kind: "disk", keyring: working, wantErr: []string{`unknown kind "disk"`, "auto, keyring, file or memory"}},
	}
	for _, tc := range cases {
		// In a synctest bubble, a hanging keyring's probe times out on the
		// fake clock: no real waiting.
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs bytes.Buffer
				logger := slog.New(slog.NewTextHandler(&logs, nil))
				stateDir := filepath.Join(t.TempDir(), "state")
				if tc.noState {
					stateDir = ""
				}
				kr := newKeyring(KeyringService, tc.keyring(t))
				s, err := open(context.Background(), tc.kind, stateDir, logger, kr, ProbeTimeout)
				if tc.wantErr != nil {
					if err == nil {
						t.Fatalf("Open(%q) = %s store, want an error", tc.kind, s.Kind())
					}
					for _, want := range tc.wantErr {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not contain %q", err, want)
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("Open(%q): %v", tc.kind, err)
				}
				if s.Kind() != tc.wantKind {
					t.Fatalf("Open(%q) = %s store, want %s", tc.kind, s.Kind(), tc.wantKind)
				}
				for _, want := range tc.wantLog {
					if !strings.Contains(logs.String(), want) {
						t.Errorf("log %q does not contain %q", logs.String(), want)
					}
				}
				if tc.wantKind == "file" && runtime.GOOS != "windows" {
					fi, err := os.Stat(filepath.Join(stateDir, SessionsDir))
					if err != nil || fi.Mode().Perm() != 0o700 {
						t.Errorf("sessions dir: %v, %v; want mode 0700", fi, err)
					}
				}
				// The store works.
				mustPut(t, s, "sso/corp", []byte("x"))
				wantGet(t, s, "sso/corp", []byte("x"))
			})
		})
	}
}

func TestOpenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := open(ctx, "auto", t.TempDir(), nil, newKeyring(KeyringService, &fakeKeyring{}), time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Open(auto) with a canceled context = %v, want context.Canceled", err)
	}
}
