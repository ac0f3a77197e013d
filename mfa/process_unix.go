//go:build !windows

package mfa

import (
	"context"
	"os/exec"
	"syscall"
)

// shellCommand runs command with /bin/sh, in a process group of its own,
// so cancelling kills whatever the command started too.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}
