//go:build !windows

package mfa

import (
	"errors"
	"fmt"
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
//
// The timeout is real time: on a loaded machine it can pass before the
// shell has started the child (and written its PID), which leaves
// nothing to check. Then the test tries again with a longer one.
func TestProcessTimeoutKillsTheGroup(t *testing.T) {
	for _, timeout := range []time.Duration{300 * time.Millisecond, time.Second, 5 * time.Second, 20 * time.Second} {
		pidFile := filepath.Join(t.TempDir(), "pid")
		p := Process{Command: "sleep 300 & echo $! > " + pidFile + "; wait", Timeout: timeout}
		_, err := p.Code(t.Context())
		if want := fmt.Sprintf("did not finish within %s (killed)", timeout); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want the timeout", err)
		}
		raw, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(raw), "\n") {
			t.Logf("the shell had not started its child by the %s timeout (%v): trying a longer one", timeout, err)
			continue
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
	t.Fatal("the shell never started its child before the timeout")
}
