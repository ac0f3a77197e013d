package ondemand

import (
	"context"
	"os/exec"
	"time"
)

// NewPresence is the OS's word on whether the screen is locked: on macOS,
// the console session's CGSSessionScreenIsLocked as ioreg shows it.
func NewPresence() Presence { return ioreg{} }

type ioreg struct{}

func (ioreg) Locked() (locked, known bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/ioreg", "-n", "Root", "-d1", "-a").Output()
	if err != nil {
		return false, false
	}
	return screenLocked(out), true
}
