package daemon

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// hopLimited sets the IP TTL (hop limit) of every accepted connection, as
// EC2's metadata service does for token responses: a client more than
// hops routers away (such as a container behind an extra NAT) gets nothing.
func hopLimited(ln net.Listener, hops int) net.Listener {
	if hops <= 0 {
		return ln
	}
	return hopListener{ln, hops}
}

type hopListener struct {
	net.Listener
	hops int
}

func (l hopListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if tcp, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if tcp.IP.To4() != nil {
			_ = ipv4.NewConn(c).SetTTL(l.hops)
		} else {
			_ = ipv6.NewConn(c).SetHopLimit(l.hops)
		}
	}
	return c, nil
}
