package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

// System is the OS's resolver: GetExtendedTcpTable for the owning PID,
// the process token for the user.
type System struct {
	table *windows.LazyProc
}

var _ Resolver = (*System)(nil)

// New returns the OS's resolver.
func New() (*System, error) {
	p := windows.NewLazySystemDLL("iphlpapi.dll").NewProc("GetExtendedTcpTable")
	if err := p.Find(); err != nil {
		return nil, fmt.Errorf("finding GetExtendedTcpTable: %w", err)
	}
	return &System{table: p}, nil
}

// Support implements the doctor's question.
func (s *System) Support() Support {
	return Support{
		Owner:   "GetExtendedTcpTable (owning PID), then the user SID of that process's token",
		Process: "the process's image name, and its command line (read from its PEB; none for an elevated process)",
		Limits:  "a process of another user cannot be opened without privileges: its owner is unknown, and it is refused as such",
	}
}

const (
	tcpTableOwnerPIDConnections = 4 // TCP_TABLE_OWNER_PID_CONNECTIONS
	errInsufficientBuffer       = windows.ERROR_INSUFFICIENT_BUFFER
)

// Probes tries Lookup's one way: GetExtendedTcpTable and the owning
// process's token.
func (s *System) Probes(local, remote netip.AddrPort) []Probe {
	p, err := s.Lookup(local, remote)
	return []Probe{{Way: "GetExtendedTcpTable", User: p.User, Err: err}}
}

// Lookup implements Resolver.
func (s *System) Lookup(local, remote netip.AddrPort) (Peer, error) {
	local, remote = unmap(local), unmap(remote)
	family := uint32(windows.AF_INET6)
	if remote.Addr().Is4() {
		family = windows.AF_INET
	}
	buf, err := s.rows(family)
	if err != nil {
		return Peer{}, err
	}
	pid, ok := findOwner(buf, family == windows.AF_INET, local, remote)
	if !ok {
		return Peer{}, ErrNotFound
	}
	sid, err := processUser(pid)
	if err != nil {
		return Peer{PID: int(pid)}, fmt.Errorf("%w: process %d: %v", ErrNotFound, pid, err)
	}
	return Peer{User: sid, PID: int(pid)}, nil
}

// rows calls GetExtendedTcpTable until its buffer is large enough.
func (s *System) rows(family uint32) ([]byte, error) {
	size := uint32(16 << 10)
	for range 5 {
		buf := make([]byte, size)
		r, _, _ := s.table.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, uintptr(family), tcpTableOwnerPIDConnections, 0)
		switch windows.Errno(r) {
		case 0:
			return buf[:size], nil
		case errInsufficientBuffer:
			size += 4 << 10 // the table may grow between calls
			continue
		default:
			return nil, fmt.Errorf("GetExtendedTcpTable: %w", windows.Errno(r))
		}
	}
	return nil, errors.New("GetExtendedTcpTable: the table kept growing")
}

// findOwner walks MIB_TCPTABLE_OWNER_PID (or its IPv6 form): a DWORD count,
// then rows. Ports are in network byte order in the low 16 bits of a DWORD.
func findOwner(buf []byte, v4 bool, local, remote netip.AddrPort) (uint32, bool) {
	if len(buf) < 4 {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(buf))
	port := func(b []byte) uint16 { return binary.BigEndian.Uint16(b[:2]) }
	if v4 {
		// MIB_TCPROW_OWNER_PID: state, local addr, local port, remote
		// addr, remote port, owning PID: six DWORDs.
		const rowSize = 24
		for i := range n {
			off := 4 + i*rowSize
			if off+rowSize > len(buf) {
				break
			}
			row := buf[off : off+rowSize]
			la := netip.AddrFrom4([4]byte(row[4:8]))
			ra := netip.AddrFrom4([4]byte(row[12:16]))
			if netip.AddrPortFrom(la, port(row[8:])) == remote && netip.AddrPortFrom(ra, port(row[16:])) == local {
				return binary.LittleEndian.Uint32(row[20:]), true
			}
		}
		return 0, false
	}
	// MIB_TCP6ROW_OWNER_PID: local addr [16], local scope, local port,
	// remote addr [16], remote scope, remote port, state, owning PID.
	const rowSize = 56
	for i := range n {
		off := 4 + i*rowSize
		if off+rowSize > len(buf) {
			break
		}
		row := buf[off : off+rowSize]
		la := netip.AddrFrom16([16]byte(row[0:16]))
		ra := netip.AddrFrom16([16]byte(row[24:40]))
		if netip.AddrPortFrom(la, port(row[20:])).Compare(remote) == 0 && netip.AddrPortFrom(ra, port(row[44:])).Compare(local) == 0 {
			return binary.LittleEndian.Uint32(row[52:]), true
		}
	}
	return 0, false
}

// processUser is the SID of the user of process pid's token.
func processUser(pid uint32) (string, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return "", err
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String(), nil
}

// Process implements Resolver.
func (s *System) Process(p Peer) (Process, error) {
	if p.PID == 0 {
		return Process{}, ErrNotFound
	}
	return Describe(p.PID)
}

// Describe is the process pid: its image name, and its command line where
// credd may read it (see commandLine; nil otherwise).
func Describe(pid int) (Process, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return Process{PID: pid}, fmt.Errorf("opening process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	name := make([]uint16, windows.MAX_LONG_PATH)
	size := uint32(len(name))
	if err := windows.QueryFullProcessImageName(h, 0, &name[0], &size); err != nil {
		return Process{PID: pid}, fmt.Errorf("naming process %d: %w", pid, err)
	}
	return Process{PID: pid, Exe: windows.UTF16ToString(name[:size]), Cmdline: commandLine(uint32(pid))}, nil
}

// commandLine reads the command line of process pid where Windows keeps
// it, in the process's own memory: its PEB names its
// RTL_USER_PROCESS_PARAMETERS, whose CommandLine is a UNICODE_STRING. That
// takes PROCESS_VM_READ, which a user holds on their own unelevated
// processes (the callers credd serves); for anyone else it is nil. The
// line is split as the process's runtime splits it (CommandLineToArgvW).
// ProcessCommandLineInformation would need less, but Windows before 8.1
// and wine lack it; one way is kept, the one tested here.
//
// Remote addresses are read as integers from raw bytes, never stored in
// Go pointers (the garbage collector must not see them).
func commandLine(pid uint32) []string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_VM_READ, false, pid)
	if err != nil {
		return nil
	}
	defer windows.CloseHandle(h)
	var pbi processBasicInformation
	if err := windows.NtQueryInformationProcess(h, windows.ProcessBasicInformation, unsafe.Pointer(&pbi), uint32(unsafe.Sizeof(pbi)), nil); err != nil {
		return nil
	}
	var peb windows.PEB
	var params windows.RTL_USER_PROCESS_PARAMETERS
	read := func(addr, n uintptr) []byte {
		if addr == 0 {
			return nil
		}
		buf := make([]byte, n)
		var got uintptr
		if windows.ReadProcessMemory(h, addr, &buf[0], n, &got) != nil || got != n {
			return nil
		}
		return buf
	}
	word := func(b []byte, off uintptr) uintptr {
		if unsafe.Sizeof(uintptr(0)) == 4 {
			return uintptr(binary.LittleEndian.Uint32(b[off:]))
		}
		return uintptr(binary.LittleEndian.Uint64(b[off:]))
	}
	raw := read(pbi.PebBaseAddress, unsafe.Offsetof(peb.ProcessParameters)+unsafe.Sizeof(peb.ProcessParameters))
	if raw == nil {
		return nil
	}
	line := unsafe.Offsetof(params.CommandLine)
	raw = read(word(raw, unsafe.Offsetof(peb.ProcessParameters)), line+unsafe.Sizeof(params.CommandLine))
	if raw == nil {
		return nil
	}
	length := uintptr(binary.LittleEndian.Uint16(raw[line:])) // bytes
	if length == 0 || length%2 != 0 {
		return nil
	}
	raw = read(word(raw, line+unsafe.Offsetof(params.CommandLine.Buffer)), length)
	if raw == nil {
		return nil
	}
	chars := make([]uint16, length/2)
	for i := range chars {
		chars[i] = binary.LittleEndian.Uint16(raw[2*i:])
	}
	args, err := windows.DecomposeCommandLine(windows.UTF16ToString(chars))
	if err != nil {
		return nil
	}
	return args
}

// processBasicInformation is windows.PROCESS_BASIC_INFORMATION with the
// PEB's address, which lies in another process, as an integer.
type processBasicInformation struct {
	ExitStatus                   windows.NTStatus
	PebBaseAddress               uintptr
	AffinityMask                 uintptr
	BasePriority                 int32
	UniqueProcessId              uintptr
	InheritedFromUniqueProcessId uintptr
}
