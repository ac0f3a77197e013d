package daemon

import (
	"log/slog"
	"net"
	"net/netip"
)

// allowListener accepts connections only from the allowed networks and
// closes the rest before a byte is read: extra_listen addresses face other
// hosts (a Docker bridge), and allow_clients says which may talk to credd.
type allowListener struct {
	net.Listener
	allow []netip.Prefix
	log   *slog.Logger
}

func allowOnly(ln net.Listener, cidrs []string, log *slog.Logger) (net.Listener, error) {
	l := allowListener{Listener: ln, log: log}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		l.allow = append(l.allow, p.Masked())
	}
	return l, nil
}

func (l allowListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		if l.allowed(c.RemoteAddr()) {
			return c, nil
		}
		l.log.Warn("refused connection from outside allow_clients", "remote", c.RemoteAddr().String(), "listener", l.Addr().String())
		c.Close()
	}
}

func (l allowListener) allowed(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range l.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
