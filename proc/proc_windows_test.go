//go:build windows

package proc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// The test binary is its own helper: with CREDD_PROC_ROLE=parent it
// starts itself as a child, writes the child's PID to
// $CREDD_PROC_PIDFILE and sleeps; a child only sleeps. Both hold the
// stdout they inherited, as a helper's children do.
func TestMain(m *testing.M) {
	switch os.Getenv("CREDD_PROC_ROLE") {
	case "parent":
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), "CREDD_PROC_ROLE=child")
		child.Stdout = os.Stdout
		if err := child.Start(); err != nil {
			os.Exit(3)
		}
		os.WriteFile(os.Getenv("CREDD_PROC_PIDFILE"), []byte(strconv.Itoa(child.Process.Pid)), 0o600)
		time.Sleep(240 * time.Second)
		os.Exit(0)
	case "child":
		time.Sleep(240 * time.Second)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestJobKillsTheTree: when its context ends the job object ends the
// helper and the child it started, which holds the helper's stdout.
func TestJobKillsTheTree(t *testing.T) {
	exe, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(exe, " &^") {
		t.Skipf("the test binary's path %q needs quoting for cmd.exe", exe)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("CREDD_PROC_ROLE", "parent")
	t.Setenv("CREDD_PROC_PIDFILE", pidFile)
	// The context ends once the helper has started the child that must
	// die and written its PID, not at a fixed deadline (it was 5 s), which
	// a loaded machine could reach first: under wine the PID came 0.4 to
	// 1.2 s after the start here (cmd.exe, the helper, its child).
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		defer cancel()
		for deadline := time.Now().Add(time.Minute); ctx.Err() == nil && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if b, err := os.ReadFile(pidFile); err == nil {
				if _, err := strconv.Atoi(string(b)); err == nil {
					return
				}
			}
		}
	})
	cmd := Command(ctx, exe)
	var out bytes.Buffer
	cmd.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the helper still runs a minute after its context ended")
	}
	if err == nil {
		t.Fatal("Run succeeded")
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatalf("the helper wrote no PID (%v); Run = %v", rerr, err)
	}
	pid, _ := strconv.Atoi(string(b))
	h, oerr := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(pid))
	if oerr != nil {
		return // no such process: it ended
	}
	defer windows.CloseHandle(h)
	if ev, _ := windows.WaitForSingleObject(h, 10_000); ev != windows.WAIT_OBJECT_0 {
		t.Errorf("the helper's child (PID %d) runs on after its context ended", pid)
	}
}
