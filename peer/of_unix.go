//go:build unix

package peer

import (
	"fmt"
	"net"
)

// sockopt runs fn with the descriptor of c, a Unix socket. (A TCP socket
// answers SO_PEERCRED too, with no process and an invalid user.)
func sockopt(c net.Conn, fn func(fd int) error) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("%T is not a Unix socket", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
