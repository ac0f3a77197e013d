// Package proc runs the helper programs credd starts for the shared AWS
// config (credential_process, through the AWS SDK's processcreds) so that
// none outlives its deadline. Each runs in a process group of its own (on
// Windows, a job object); when its context ends the whole group is killed
// (the shell, the helper and whatever the helper started) and its pipes
// are closed after WaitDelay, so the caller returns at once and the next
// attempt starts on time. The SDK's own runner kills only the shell: a
// helper that had exec'd `sleep 240` kept the pipe open, and its profile
// answered "still fetching" until the orphan exited.
package proc

import (
	"context"
	"os"
	"os/exec"
	"time"
)

// WaitDelay bounds how long Wait waits, once the group was killed (or the
// shell exited), for pipes that a process outside the group (one that
// called setsid) still holds.
const WaitDelay = time.Second

// Command returns a command that runs line with the system shell, as the
// AWS SDK runs credential_process (sh -c line; cmd.exe /C line on
// Windows), with the SDK's environment (credd's own) and stderr, no
// stdin, in a group of its own that is killed when ctx ends.
func Command(ctx context.Context, line string) *exec.Cmd {
	name, args := shellCommand(line)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = os.Stderr // where the SDK puts it: credd's log
	cmd.WaitDelay = WaitDelay
	isolate(cmd)
	return cmd
}
