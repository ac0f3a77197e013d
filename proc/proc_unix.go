//go:build unix

package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// shellCommand is how the AWS SDK runs credential_process here.
func shellCommand(line string) (string, []string) { return "sh", []string{"-c", line} }

// isolate starts the command in a new process group (its ID is the
// shell's PID) and makes the context's end kill the whole group.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}
