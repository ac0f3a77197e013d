package peer

import (
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// of: see Of. LOCAL_PEERCRED holds the effective UID of the process
// that connected, LOCAL_PEERPID its PID.
func of(c net.Conn) (Peer, error) {
	var p Peer
	err := sockopt(c, func(fd int) error {
		xu, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if err != nil {
			return fmt.Errorf("LOCAL_PEERCRED: %w", err)
		}
		pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
		if err != nil {
			return fmt.Errorf("LOCAL_PEERPID: %w", err)
		}
		p = Peer{User: strconv.FormatUint(uint64(xu.Uid), 10), PID: pid}
		return nil
	})
	if err != nil {
		return Peer{}, fmt.Errorf("reading the socket's peer credentials: %w", err)
	}
	return p, nil
}
