//go:build unix && !linux

package peer

import (
	"net/netip"
	"time"
)

// System is the OS's resolver: lsof for the owner and the PID, Describe
// for the process (what it reads on this OS: lsofProcess).
type System struct{ l lsof }

var _ Resolver = (*System)(nil)

// New returns the OS's resolver.
func New() (*System, error) {
	return &System{l: lsof{path: lsofPath, timeout: 2 * time.Second}}, nil
}

// Support implements the doctor's question.
func (s *System) Support() Support {
	return Support{Owner: "lsof (" + lsofPath + "), once per connection", Process: lsofProcess, Limits: lsofLimits}
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
