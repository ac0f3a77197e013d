//go:build unix

package proc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ended reports whether the process whose PID is in file has ended (a
// zombie left for init counts). A killed process closes its files before
// it becomes a zombie, so this waits a little for the kernel to finish.
func ended(t *testing.T, file string) bool {
	t.Helper()
	pid := readPID(t, file)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
				return true
			}
		} else if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func readPID(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the helper wrote no PID: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// run runs line until ctx's deadline, failing the test if it outlives
// the deadline by far.
func run(t *testing.T, line string, timeout time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return runCtx(t, ctx, line)
}

// runUntilWritten runs line until it has written a line to file (the PID
// of what the test then checks was killed), then ends its context. A
// fixed deadline would do the same, except on a loaded machine, where it
// can pass before the shell has started what it starts: then there is
// nothing to check.
func runUntilWritten(t *testing.T, line, file string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer cancel()
		for deadline := time.Now().Add(time.Minute); ctx.Err() == nil; time.Sleep(5 * time.Millisecond) {
			if b, err := os.ReadFile(file); (err == nil && bytes.HasSuffix(b, []byte("\n"))) || time.Now().After(deadline) {
				return
			}
		}
	}()
	return runCtx(t, ctx, line)
}

// runCtx runs line until ctx ends, failing the test if it outlives ctx
// by far.
func runCtx(t *testing.T, ctx context.Context, line string) (string, error) {
	t.Helper()
	cmd := Command(ctx, line)
	var out bytes.Buffer
	cmd.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(time.Minute):
		t.Fatalf("%q still runs a minute after its context ended", line)
		return "", nil
	}
}

// TestCommandKillsTheGroup: when its context ends every process the
// helper started is killed, whether it holds the helper's stdout or not, so Wait
// returns then.
func TestCommandKillsTheGroup(t *testing.T) {
	for _, tc := range []struct{ name, line string }{
		{"a child holding stdout", "sleep 240 & echo $! > PIDFILE; wait"},
		{"a child with stdout elsewhere", "sleep 240 > /dev/null & echo $! > PIDFILE; wait"},
		{"a grandchild", "sh -c 'sleep 240 & echo $! > PIDFILE; wait' & wait"},
		{"the shell execs", "echo $$ > PIDFILE; exec sleep 240"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			_, err := runUntilWritten(t, strings.ReplaceAll(tc.line, "PIDFILE", pidFile), pidFile)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), "killed") {
				t.Errorf("Run = %v, want the shell killed", err)
			}
			if !ended(t, pidFile) {
				t.Errorf("a process of the helper's group runs on")
			}
		})
	}
}

// TestCommandWaitDelayBoundsAnEscapee: a process that left the group
// (setsid) is out of reach of the kill; Wait stops waiting for the pipe
// it holds WaitDelay after the deadline.
func TestCommandWaitDelayBoundsAnEscapee(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid here")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL) // the escapee is the test's to end
			}
		}
	})
	// runCtx fails the test should Run wait for the escapee (240 s). The
	// context ends once the escapee has left the group (it writes its PID
	// after setsid), so that the kill cannot reach it.
	line := "setsid sh -c 'echo $$ > " + pidFile + ".tmp; mv " + pidFile + ".tmp " + pidFile + "; exec sleep 240' & wait"
	_, err := runUntilWritten(t, line, pidFile)
	if !errors.Is(err, exec.ErrWaitDelay) && (err == nil || !strings.Contains(err.Error(), "killed")) {
		t.Errorf("Run = %v, want the shell killed or the wait cut short", err)
	}
	if syscall.Kill(readPID(t, pidFile), 0) != nil {
		t.Skip("the escapee ended anyway: nothing shows WaitDelay at work")
	}
}

// TestCommandRunsLikeTheSDK: the line goes to sh -c with credd's
// environment, and stdout is the helper's answer.
func TestCommandRunsLikeTheSDK(t *testing.T) {
	t.Setenv("CREDD_PROC_TEST", "from credd")
	out, err := run(t, `printf '%s|%s' "$CREDD_PROC_TEST" "$(cat)"`, 30*time.Second)
	if err != nil || out != "from credd|" {
		t.Errorf("Run = %q, %v; want the environment and an empty stdin", out, err)
	}
}
