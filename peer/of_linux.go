package peer

import (
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// of: see Of. SO_PEERCRED holds the UID and PID of the process that
// connected, as of connect(2); the PID is 0 for a process of another PID
// namespace (a container's).
func of(c net.Conn) (Peer, error) {
	var cred *unix.Ucred
	err := sockopt(c, func(fd int) (err error) {
		cred, err = unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
		return err
	})
	if err != nil {
		return Peer{}, fmt.Errorf("reading the socket's peer credentials (SO_PEERCRED): %w", err)
	}
	if cred.Uid == ^uint32(0) { // no credentials: not a connected Unix socket
		return Peer{}, fmt.Errorf("the socket holds no peer credentials")
	}
	return Peer{User: strconv.FormatUint(uint64(cred.Uid), 10), PID: int(cred.Pid)}, nil
}
