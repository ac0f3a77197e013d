package peer

import (
	"net/netip"
	"sync"
)

// Fake is a Resolver for tests: it answers from what was Set, by the
// connection's client address.
type Fake struct {
	mu      sync.Mutex
	peers   map[netip.AddrPort]Peer
	procs   map[int]Process
	lookups int
}

var _ Resolver = (*Fake)(nil)

// Set says who owns the client socket at remote, and its process.
func (f *Fake) Set(remote netip.AddrPort, user string, proc Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.peers == nil {
		f.peers, f.procs = map[netip.AddrPort]Peer{}, map[int]Process{}
	}
	f.peers[unmap(remote)] = Peer{User: user, PID: proc.PID}
	f.procs[proc.PID] = proc
}

// Lookups counts the calls to Lookup.
func (f *Fake) Lookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups
}

// Lookup implements Resolver.
func (f *Fake) Lookup(_, remote netip.AddrPort) (Peer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	p, ok := f.peers[unmap(remote)]
	if !ok {
		return Peer{}, ErrNotFound
	}
	return p, nil
}

// Process implements Resolver.
func (f *Fake) Process(p Peer) (Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	proc, ok := f.procs[p.PID]
	if !ok || p.PID == 0 {
		return Process{}, ErrNotFound
	}
	return proc, nil
}
