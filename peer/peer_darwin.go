package peer

import (
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// System is the OS's resolver: lsof for the owner, kern.procargs2 for the
// process.
type System struct{ l lsof }

var _ Resolver = (*System)(nil)

// New returns the OS's resolver.
func New() (*System, error) {
	return &System{l: lsof{path: "/usr/sbin/lsof", timeout: 2 * time.Second}}, nil
}

// Support implements the doctor's question.
func (s *System) Support() Support {
	return Support{
		Owner:   "lsof (/usr/sbin/lsof), once per connection",
		Process: "the kern.procargs2 sysctl",
		Limits:  "lsof run as a user sees only that user's processes: another user's connection is unknown, and refused as such",
	}
}

// Lookup implements Resolver.
func (s *System) Lookup(local, remote netip.AddrPort) (Peer, error) {
	return s.l.lookup(local, remote)
}

// Probes tries Lookup's one way: lsof.
func (s *System) Probes(local, remote netip.AddrPort) []Probe {
	p, err := s.l.lookup(unmap(local), unmap(remote))
	return []Probe{{Way: "lsof", User: p.User, Err: err}}
}

// Process implements Resolver.
func (s *System) Process(p Peer) (Process, error) {
	if p.PID == 0 {
		return Process{}, ErrNotFound
	}
	return Describe(p.PID)
}

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
