package daemon

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenExtra opens an extra_listen address with IP_FREEBIND: a container
// bridge's address (docker0, podman's) may not exist yet when credd starts
// or reloads, and comes up with the first container.
func listenExtra(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if network == "tcp6" {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
				return
			}
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
