package peer

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/credd/credd/internal/peertest"
)

// dial connects to a fresh loopback listener and returns the server's view
// of the connection: its local and remote (client) addresses.
func dial(t *testing.T, network, addr string) (local, remote netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback here: %v", network, err)
	}
	t.Cleanup(func() { ln.Close() })
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.LocalAddr().(*net.TCPAddr).AddrPort(), s.RemoteAddr().(*net.TCPAddr).AddrPort()
}

func TestSystemOwnConnection(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, network, addr string }{
		{"ipv4", "tcp4", "127.0.0.1:0"},
		{"ipv6", "tcp6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.network == "tcp6" && peertest.Wine() {
				t.Skip("wine 8's GetExtendedTcpTable names no owning process of IPv6 connections (PID 0)")
			}
			local, remote := dial(t, tc.network, tc.addr)
			p, err := r.Lookup(local, remote)
			if err != nil {
				t.Fatalf("Lookup(%s, %s): %v", local, remote, err)
			}
			if p.User != self {
				t.Errorf("User = %q, want this process's %q", p.User, self)
			}
			proc, err := r.Process(p)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if proc.PID != os.Getpid() {
				t.Errorf("PID = %d, want %d", proc.PID, os.Getpid())
			}
			if !sameFile(proc.Exe, exe) {
				t.Errorf("Exe = %q, want %q", proc.Exe, exe)
			}
			if len(proc.Cmdline) == 0 || !strings.HasSuffix(strings.TrimSuffix(proc.Cmdline[0], ".exe"), ".test") {
				t.Errorf("Cmdline = %q, want the test binary's", proc.Cmdline)
			}
		})
	}
}

func TestSystemNoSuchConnection(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	local, remote := dial(t, "tcp4", "127.0.0.1:0")
	for _, tc := range []struct {
		name          string
		local, remote netip.AddrPort
	}{
		{"other host", local, netip.MustParseAddrPort("192.0.2.7:40000")},
		{"closed port", local, netip.AddrPortFrom(remote.Addr(), 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := r.Lookup(tc.local, tc.remote)
			if err != ErrNotFound {
				t.Fatalf("Lookup = %+v, %v; want ErrNotFound", p, err)
			}
		})
	}
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func TestCmdlineString(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		max  int
		want string
	}{
		{"short", []string{"aws", "s3", "ls"}, 100, "aws s3 ls"},
		{"cut", []string{"python3", strings.Repeat("x", 50)}, 10, "python3 xx…"},
		{"none", nil, 10, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CmdlineString(tc.args, tc.max); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFake(t *testing.T) {
	var f Fake
	a := netip.MustParseAddrPort("127.0.0.1:5000")
	f.Set(a, "1000", Process{PID: 42, Exe: "/usr/bin/aws"})
	p, err := f.Lookup(netip.AddrPort{}, netip.MustParseAddrPort("[::ffff:127.0.0.1]:5000"))
	if err != nil || p.User != "1000" || p.PID != 42 {
		t.Fatalf("Lookup = %+v, %v", p, err)
	}
	proc, err := f.Process(p)
	if err != nil || proc.Exe != "/usr/bin/aws" {
		t.Fatalf("Process = %+v, %v", proc, err)
	}
	if _, err := f.Lookup(netip.AddrPort{}, netip.MustParseAddrPort("127.0.0.1:5001")); err != ErrNotFound {
		t.Fatalf("unknown peer: %v, want ErrNotFound", err)
	}
	if f.Lookups() != 2 {
		t.Fatalf("Lookups = %d, want 2", f.Lookups())
	}
}
