package mfa

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// shellCommand runs command with cmd.exe, as aws-vault runs mfa_process
// on Windows. The command line is passed as written (cmd.exe has its own
// quoting rules, which Go's argument escaping would break); cmd.exe skips
// the first word of its command line, its own name.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	shell := filepath.Join(os.Getenv("SystemRoot"), "System32", "cmd.exe")
	if os.Getenv("SystemRoot") == "" {
		shell = "cmd.exe"
	}
	cmd := exec.CommandContext(ctx, shell)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `"` + shell + `" /d /s /c "` + command + `"`}
	return cmd
}
