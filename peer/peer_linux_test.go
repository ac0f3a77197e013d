package peer

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/credd/credd/internal/peertest"
)

// otherUser runs bash as UID 65534 connected to addr (bash's /dev/tcp) and
// returns the server's end of that connection and the client process.
func otherUser(t *testing.T) (net.Conn, *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		peertest.Require(t, "root (to run a client as another UID with setpriv)", os.ErrPermission)
	}
	setpriv := peertest.Tool(t, "setpriv", "apt-get install util-linux")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), peertest.Timeout)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cmd := exec.CommandContext(ctx, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		"/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/"+port+"; echo connected; read -r line")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
		cancel()
	})
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatalf("the client did not connect: %v", err)
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(peertest.Timeout))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, cmd
}

// TestSystemOtherUser: a connection from another UID is that UID's, not
// the server's (whose own socket has the same addresses the other way
// round), and its process is the client's.
func TestSystemOtherUser(t *testing.T) {
	c, cmd := otherUser(t)
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	local, remote := c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
	var p Peer
	for _, tc := range []struct {
		name   string
		lookup func(local, remote netip.AddrPort) (Peer, error)
	}{
		{"sock_diag", diag},
		{"proc table", r.table},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err = tc.lookup(local, remote)
			if err != nil {
				t.Fatal(err)
			}
			if p.User != "65534" {
				t.Fatalf("User = %q, want 65534", p.User)
			}
		})
	}
	if p.User != "65534" {
		t.FailNow()
	}
	proc, err := r.Process(p)
	if err != nil {
		t.Fatal(err)
	}
	if proc.PID != cmd.Process.Pid {
		t.Errorf("PID = %d, want the client's %d", proc.PID, cmd.Process.Pid)
	}
	if !sameFile(proc.Exe, "/bin/bash") {
		t.Errorf("Exe = %q, want bash", proc.Exe)
	}
	if len(proc.Cmdline) < 2 || proc.Cmdline[1] != "-c" {
		t.Errorf("Cmdline = %q", proc.Cmdline)
	}
}

// TestTableOwnConnection covers the /proc/net/tcp path (where sock_diag is
// not allowed) for both address families, and a miss.
func TestTableOwnConnection(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	self, _ := Self()
	for _, tc := range []struct{ name, network, addr string }{
		{"ipv4", "tcp4", "127.0.0.1:0"},
		{"ipv6", "tcp6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, remote := dial(t, tc.network, tc.addr)
			p, err := r.table(local, remote)
			if err != nil || p.User != self || p.inode == 0 {
				t.Fatalf("table = %+v, %v; want user %s with an inode", p, err, self)
			}
			if _, err := r.table(local, netip.AddrPortFrom(remote.Addr(), 1)); err != ErrNotFound {
				t.Fatalf("no such connection: %v, want ErrNotFound", err)
			}
			if _, err := diag(local, netip.AddrPortFrom(remote.Addr(), 1)); err != ErrNotFound {
				t.Fatalf("sock_diag, no such connection: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestOfOtherUser: a process of another UID (65534, through setpriv)
// connected to a Unix socket every user may use is that UID's, with its
// own PID and executable (a copy of this test binary every user may run).
func TestOfOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		peertest.Require(t, "root (to run a client as another UID with setpriv)", os.ErrPermission)
	}
	setpriv := peertest.Tool(t, "setpriv", "apt-get install util-linux")
	bin := readableCopy(t)
	ln, addr := listenLocal(t, true)
	c, cmd := acceptChild(t, ln, addr, []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, bin)
	p, err := Of(c)
	if err != nil {
		t.Fatalf("Of: %v", err)
	}
	if p.User != "65534" || p.PID != cmd.Process.Pid {
		t.Errorf("Of = user %q pid %d, want 65534 and the child's %d", p.User, p.PID, cmd.Process.Pid)
	}
	proc, err := Describe(p.PID)
	if err != nil || proc.Exe != bin {
		t.Errorf("Describe(%d) = %+v, %v; want %s", p.PID, proc, err, bin)
	}
}

// readableCopy copies this test binary into a directory every user may
// enter, so that another UID can run it.
func readableCopy(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "peer-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "peer.test")
	if err := os.WriteFile(bin, body, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestProbesTryEachWay: Probes tries sock_diag and the text tables each
// on its own, and each names the owner of a connection of another UID;
// a connection that does not exist is not found by either.
func TestProbesTryEachWay(t *testing.T) {
	c, _ := otherUser(t)
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	local, remote := c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
	probes := r.Probes(local, remote)
	if len(probes) != 2 || probes[0].Way != "sock_diag" || probes[1].Way != "/proc/net/tcp" {
		t.Fatalf("probes %+v, want sock_diag then /proc/net/tcp", probes)
	}
	for _, p := range probes {
		if p.Err != nil || p.User != "65534" {
			t.Errorf("%s: user %q, %v; want 65534", p.Way, p.User, p.Err)
		}
	}
	for _, p := range r.Probes(local, netip.AddrPortFrom(remote.Addr(), 1)) {
		if p.Err != ErrNotFound {
			t.Errorf("%s, no such connection: %v, want ErrNotFound", p.Way, p.Err)
		}
	}
}
