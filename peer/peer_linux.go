package peer

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/prometheus/procfs"
)

// System is the OS's resolver.
type System struct {
	fs procfs.FS

	mu     sync.Mutex
	recent []int // PIDs found last, most recent first: looked at first
}

// recentPIDs bounds System.recent. A client without keep-alive (a script
// in a loop, an SDK that closes its connections) opens many connections
// from one process: its PID is looked at first, before any scan.
const recentPIDs = 8

var _ Resolver = (*System)(nil)

// New returns the OS's resolver.
func New() (*System, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("opening /proc: %w", err)
	}
	return &System{fs: fs}, nil
}

// Support implements the doctor's question.
func (s *System) Support() Support {
	sup := Support{
		Owner:   "the socket's owner UID from the kernel (sock_diag, else /proc/net/tcp and tcp6)",
		Process: "the socket's inode under /proc/<pid>/fd",
		Limits:  "connections from other network namespaces (containers on a bridge) have no local owner",
	}
	if os.Geteuid() != 0 {
		sup.Limits = "the process of another user's connection is not visible without root; " + sup.Limits
	}
	return sup
}

// Lookup implements Resolver: the kernel's socket diagnostics (netlink
// sock_diag) first, which cost the same however many sockets the machine
// has, then the text tables, where netlink is not allowed (some sandboxes).
func (s *System) Lookup(local, remote netip.AddrPort) (Peer, error) {
	local, remote = unmap(local), unmap(remote)
	if p, err := diag(local, remote); err == nil {
		return p, nil
	}
	return s.table(local, remote)
}

// Probes tries each of Lookup's ways on its own: sock_diag, then the
// text tables.
func (s *System) Probes(local, remote netip.AddrPort) []Probe {
	local, remote = unmap(local), unmap(remote)
	d, derr := diag(local, remote)
	t, terr := s.table(local, remote)
	return []Probe{{Way: "sock_diag", User: d.User, Err: derr}, {Way: "/proc/net/tcp", User: t.User, Err: terr}}
}

// table reads /proc/net/tcp and tcp6. A client end in IPv4 may sit in
// either (an IPv6 socket connecting to an IPv4-mapped address shows in
// tcp6). procfs deprecates these readers in favour of netlink, which is
// Lookup's first way; this one is for where netlink is not allowed.
func (s *System) table(local, remote netip.AddrPort) (Peer, error) {
	//lint:ignore SA1019 the fallback of sock_diag (see above)
	tables := []func() (procfs.NetTCP, error){s.fs.NetTCP6}
	if remote.Addr().Is4() {
		//lint:ignore SA1019 the fallback of sock_diag (see above)
		tables = []func() (procfs.NetTCP, error){s.fs.NetTCP, s.fs.NetTCP6}
	}
	for _, table := range tables {
		lines, err := table()
		if err != nil {
			if os.IsNotExist(err) { // no IPv6 in this kernel
				continue
			}
			return Peer{}, fmt.Errorf("reading the TCP table: %w", err)
		}
		for _, l := range lines {
			if uint16(l.LocalPort) != remote.Port() || uint16(l.RemPort) != local.Port() {
				continue
			}
			la, ok1 := netip.AddrFromSlice(l.LocalAddr)
			ra, ok2 := netip.AddrFromSlice(l.RemAddr)
			if !ok1 || !ok2 || la.Unmap() != remote.Addr() || ra.Unmap() != local.Addr() {
				continue
			}
			return Peer{User: strconv.FormatUint(l.UID, 10), inode: l.Inode}, nil
		}
	}
	return Peer{}, ErrNotFound
}

// Process implements Resolver: the process with a descriptor on the
// socket's inode. Processes of the socket's owner are searched first,
// newest first (clients are usually young), then the rest.
func (s *System) Process(p Peer) (Process, error) {
	if p.inode == 0 {
		return Process{}, ErrNotFound // closed, or orphaned: no process holds it
	}
	target := "socket:[" + strconv.FormatUint(p.inode, 10) + "]"
	s.mu.Lock()
	recent := slices.Clone(s.recent)
	s.mu.Unlock()
	for _, pid := range recent {
		if pr, err := s.fs.Proc(pid); err == nil && holds(pr, target) {
			s.found(pid)
			return describe(pr), nil
		}
	}
	procs, err := s.fs.AllProcs()
	if err != nil {
		return Process{}, fmt.Errorf("listing processes: %w", err)
	}
	slices.Reverse(procs) // AllProcs sorts by PID
	uid, _ := strconv.ParseUint(p.User, 10, 32)
	var others []procfs.Proc
	for _, pr := range procs {
		if slices.Contains(recent, pr.PID) {
			continue
		}
		if !s.ownedBy(pr.PID, uint32(uid)) {
			others = append(others, pr)
			continue
		}
		if holds(pr, target) {
			s.found(pr.PID)
			return describe(pr), nil
		}
	}
	for _, pr := range others {
		if holds(pr, target) {
			s.found(pr.PID)
			return describe(pr), nil
		}
	}
	return Process{}, ErrNotFound
}

// found puts pid first among the recent ones.
func (s *System) found(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = slices.DeleteFunc(s.recent, func(p int) bool { return p == pid })
	s.recent = slices.Insert(s.recent, 0, pid)
	if len(s.recent) > recentPIDs {
		s.recent = s.recent[:recentPIDs]
	}
}

// ownedBy says whether /proc/<pid> belongs to uid (the process's effective
// user, which is the socket's owner unless the process changed user after
// creating it).
func (s *System) ownedBy(pid int, uid uint32) bool {
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == uid
}

func holds(pr procfs.Proc, target string) bool {
	links, err := pr.FileDescriptorTargets()
	if err != nil {
		return false // gone, or another user's without root
	}
	return slices.Contains(links, target)
}

// Describe is the process pid: its executable and command line from
// /proc/<pid>.
func Describe(pid int) (Process, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return Process{PID: pid}, fmt.Errorf("opening /proc: %w", err)
	}
	pr, err := fs.Proc(pid)
	if err != nil {
		return Process{PID: pid}, fmt.Errorf("%w: process %d: %v", ErrNotFound, pid, err)
	}
	return describe(pr), nil
}

func describe(pr procfs.Proc) Process {
	out := Process{PID: pr.PID}
	out.Exe, _ = pr.Executable()
	out.Cmdline, _ = pr.CmdLine()
	return out
}
