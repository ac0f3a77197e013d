package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// diag asks the kernel for the one socket whose local end is remote and
// far end is local (sock_diag without NLM_F_DUMP: a hash lookup, the same
// cost however many sockets the machine has).
func diag(local, remote netip.AddrPort) (Peer, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return Peer{}, fmt.Errorf("opening a sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, diagRequest(local, remote), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return Peer{}, fmt.Errorf("sock_diag request: %w", err)
	}
	buf := make([]byte, 1024)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return Peer{}, fmt.Errorf("sock_diag answer: %w", err)
	}
	return parseDiag(buf[:n])
}

const (
	nlmsgHdrLen  = 16
	diagReqLen   = 56 // struct inet_diag_req_v2
	diagMsgUID   = nlmsgHdrLen + 4 + 48 + 12
	diagMsgInode = diagMsgUID + 4
)

// diagRequest is a netlink message holding struct inet_diag_req_v2 with
// the client socket's id: its source is the connection's remote end.
func diagRequest(local, remote netip.AddrPort) []byte {
	b := make([]byte, nlmsgHdrLen+diagReqLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST)
	r := b[nlmsgHdrLen:]
	r[0] = unix.AF_INET
	if !remote.Addr().Is4() {
		r[0] = unix.AF_INET6
	}
	r[1] = unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 0xffffffff) // every state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], remote.Port())
	binary.BigEndian.PutUint16(id[2:], local.Port())
	putAddr(id[4:20], remote.Addr())
	putAddr(id[20:36], local.Addr())
	ne.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], 0xffffffff)
	return b
}

func putAddr(dst []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(dst, v[:])
		return
	}
	v := a.As16()
	copy(dst, v[:])
}

// parseDiag reads the answer: struct inet_diag_msg, or an error message
// (ENOENT: no such socket).
func parseDiag(b []byte) (Peer, error) {
	if len(b) < nlmsgHdrLen {
		return Peer{}, errors.New("sock_diag: short answer")
	}
	ne := binary.NativeEndian
	switch typ := ne.Uint16(b[4:]); typ {
	case unix.NLMSG_ERROR:
		if len(b) < nlmsgHdrLen+4 {
			return Peer{}, errors.New("sock_diag: short error")
		}
		errno := syscall.Errno(-int32(ne.Uint32(b[nlmsgHdrLen:])))
		if errno == unix.ENOENT {
			return Peer{}, ErrNotFound
		}
		return Peer{}, fmt.Errorf("sock_diag: %w", errno)
	case unix.SOCK_DIAG_BY_FAMILY:
		if len(b) < diagMsgInode+4 {
			return Peer{}, errors.New("sock_diag: short message")
		}
		return Peer{User: strconv.FormatUint(uint64(ne.Uint32(b[diagMsgUID:])), 10), inode: uint64(ne.Uint32(b[diagMsgInode:]))}, nil
	default:
		return Peer{}, fmt.Errorf("sock_diag: unexpected message type %d", typ)
	}
}
