//go:build !windows

package mfa

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcessTimeoutKillsTheGroup: a command that does not finish in time
// is killed with everything it started (a helper waiting on a hardware
// key that nobody touches, say).
func TestProcessTimeoutKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	p := Process{Command: "sleep 300 & echo $! > " + pidFile + "; wait", Timeout: 300 * time.Millisecond}
	_, err := p.Code(t.Context())
	if err == nil || !strings.Contains(err.Error(), "did not finish within 300ms (killed)") {
		t.Fatalf("err = %v, want the timeout", err)
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	// Once killed, the orphan is reaped by init: wait for that.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command's child %d is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
