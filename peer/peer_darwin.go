package peer

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// lsofPath is macOS's own lsof.
const lsofPath = "/usr/sbin/lsof"

// What System reads here for the process, and what it cannot see
// (Support).
const (
	lsofProcess = "the kern.procargs2 sysctl"
	lsofLimits  = "lsof run as a user sees only that user's processes: another user's connection is unknown, and refused as such"
)

// Describe is the process pid: its executable and command line from the
// kern.procargs2 sysctl.
func Describe(pid int) (Process, error) {
	buf, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return Process{PID: pid}, fmt.Errorf("reading the arguments of process %d: %w", pid, err)
	}
	exe, args, err := parseProcargs2(buf)
	return Process{PID: pid, Exe: exe, Cmdline: args}, err
}
