// Package peer tells who is at the other end of a local TCP connection: the
// user that owns the client's socket, and, on demand, the process holding
// it (PID, executable, command line). credd asks once per connection, never
// per request, and asks for the process only when it writes an audit line.
//
// What each OS can say, and how credd asks it:
//
//   - Linux: the owner UID of the client's socket from the kernel's socket
//     diagnostics (a sock_diag netlink request for exactly that socket: a
//     hash lookup, the same cost however many sockets the machine has),
//     else from /proc/net/tcp and /proc/net/tcp6 (the line whose local
//     address is the connection's remote one and the other way round), read
//     with prometheus/procfs, already a dependency of the metrics. The
//     process is found by the socket's inode among the links under
//     /proc/<pid>/fd, looking first at the last few processes found (a
//     client without keep-alive opens one connection after another), then
//     at the processes of the owning UID, newest first. Reading another user's /proc/<pid>/fd needs root, so a
//     daemon running as a user names the owner of every connection but the
//     process only of its own user's. A connection from another network
//     namespace (a container on a bridge) has no socket here: its owner is
//     unknown (ErrNotFound).
//   - Windows: GetExtendedTcpTable names the owning PID of every TCP
//     connection; the owner is the user SID of that process's token, and
//     the executable its image name. A process another user owns cannot be
//     opened without privileges, so its owner is unknown and it is
//     refused as such. The command line is read from the process's
//     memory (its PEB's parameters), which the user may read of their own
//     unelevated processes; elevated ones show none.
//   - macOS and other Unix systems: without cgo (release builds are
//     CGO_ENABLED=0) libproc is out of reach, so credd runs the system's
//     lsof (-F, the machine-readable form) for the connection's address.
//     lsof run as a user sees only that user's processes, so a connection
//     from another user's process is not found: its owner is unknown, and
//     it is refused. The executable and command line come from the
//     kern.procargs2 sysctl on macOS. lsof costs tens of milliseconds, once
//     per connection.
//
// Libraries considered: gopsutil answers "which connections does process P
// have" (on Linux by walking every process, on macOS with lsof too), not
// "who owns this connection", and would add a large dependency for a few
// lines of lookup. prometheus/procfs parses /proc/net/tcp and the process
// files: it is used for those. vishvananda/netlink's SocketGet dumps every
// socket with the ports asked for and returns the first answer without
// checking the addresses, and took 1.6 ms where the exact request, written
// here against golang.org/x/sys/unix (one struct in, one out), takes 45 µs;
// reading /proc/net/tcp took 1.4 ms with 250 sockets and grows with them.
// Nothing well kept wraps GetExtendedTcpTable, which is one call through
// golang.org/x/sys/windows.
//
// The control channel (a Unix socket; a named pipe on Windows) needs no
// search: Of reads the kernel's record of who connected (SO_PEERCRED,
// LOCAL_PEERCRED and LOCAL_PEERPID, GetNamedPipeClientProcessId), and
// Describe names what a PID runs.
//
// The daemon consumes the Resolver interface; Fake is a resolver for tests.
package peer

import (
	"errors"
	"net/netip"
	"strings"
)

// Peer is what the OS says about the client end of one connection.
type Peer struct {
	// User owns the client's socket: a decimal UID on Unix, a SID string
	// on Windows.
	User string
	// PID is the process holding the socket where the OS names it along
	// with the owner (Windows, lsof); 0 until Process on Linux.
	PID int
	// inode is the socket's inode on Linux, for Process.
	inode uint64
}

// Inode is the client socket's inode (Linux; 0 elsewhere).
func (p Peer) Inode() uint64 { return p.inode }

// Process is the program behind a connection.
type Process struct {
	PID     int
	Exe     string   // absolute path of the executable, "" if unknown
	Cmdline []string // nil if unknown
}

// ErrNotFound means no local socket matches the connection: it comes from
// another host or network namespace, it was closed, or the OS would not
// say (another user's process where only one's own are visible).
var ErrNotFound = errors.New("no local socket matches the connection")

// Resolver attributes connections. Lookup is called once per connection;
// Process only when an audit line needs it.
type Resolver interface {
	// Lookup finds the owner of the client socket of the TCP connection
	// whose server end is local and client end is remote.
	Lookup(local, remote netip.AddrPort) (Peer, error)
	// Process finds the process holding p's socket.
	Process(p Peer) (Process, error)
}

// Support describes what this OS lets credd say about a connection, for
// `credd doctor` and the docs.
type Support struct {
	Owner   string // how the owner is found
	Process string // how the process is found
	Limits  string // what stays unknown
}

// Probe is one way of finding a connection's owner, tried on its own on
// one connection (credd doctor: which ways work on this machine).
type Probe struct {
	Way  string // how: "sock_diag", "/proc/net/tcp", "lsof", "GetExtendedTcpTable"
	User string // the owner it named
	Err  error
}

// CmdlineString joins a command line for display, cut to max bytes.
func CmdlineString(args []string, max int) string {
	s := strings.Join(args, " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// unmap makes an IPv4-mapped IPv6 address plain IPv4.
func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap().WithZone(""), a.Port())
}
