package mfa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/credd/credd/proc"
)

// DefaultProcessTimeout bounds an mfa_process command: long enough to
// touch a hardware key when it asks.
const DefaultProcessTimeout = time.Minute

// maxOutput bounds what is read of a command's output.
const maxOutput = 4 << 10

// Process is an mfa_process command (aws-vault's key): a shell command
// that prints the device's current code, such as
// `ykman oath accounts code --single aws`. It runs as credential_process
// does (package proc): sh -c, or cmd.exe /C on Windows.
type Process struct {
	Command string
	// Timeout bounds the command (0: DefaultProcessTimeout); when it
	// passes, the command and every process it started are killed.
	Timeout time.Duration
}

// Code runs the command and returns the code it printed on standard
// output (spaces around it trimmed). Output that is not a code is an
// error that says how long it was, never what it was.
func (p Process) Code(ctx context.Context) (string, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultProcessTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// In a process group (a job object on Windows) of its own, killed
	// whole when ctx ends.
	cmd := proc.Command(ctx, p.Command)
	var out, errOut limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("mfa_process %q did not finish within %s (killed)", p.Command, timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(errOut.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && msg != "" {
			return "", fmt.Errorf("mfa_process %q failed (%v): %s", p.Command, err, msg)
		}
		return "", fmt.Errorf("mfa_process %q failed: %w", p.Command, err)
	}
	code := strings.TrimSpace(out.String())
	if err := CheckCode(code); err != nil {
		return "", fmt.Errorf("mfa_process %q printed no MFA code: %w", p.Command, err)
	}
	return code, nil
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return l.b.String() }
