package peer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/credd/credd/internal/peertest"
)

// helperEnv makes the test binary, run again as a child, the client of
// TestHelperDial: it connects to the address in the variable, says so on
// stdout and holds the connection until its stdin closes.
const helperEnv = "CREDD_PEER_TEST_DIAL"

func TestHelperDial(t *testing.T) {
	addr := os.Getenv(helperEnv)
	if addr == "" {
		t.Skip("the client process of TestOf*, run by them")
	}
	c, err := dialLocal(addr)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("connected")
	_, _ = io.Copy(io.Discard, os.Stdin)
	c.Close()
}

// acceptChild starts prefix + bin (this test binary, or a copy) as the
// client of TestHelperDial, and returns the server's end of its
// connection and the child.
func acceptChild(t *testing.T, ln net.Listener, addr string, prefix []string, bin string) (net.Conn, *exec.Cmd) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peertest.Timeout)
	argv := append(append([]string{}, prefix...), bin, "-test.run=^TestHelperDial$", "-test.count=1")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"="+addr)
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
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "connected\n" {
		t.Fatalf("the client did not connect: %q %v", line, err)
	}
	select {
	case c, ok := <-accepted:
		if !ok {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { c.Close() })
		return c, cmd
	case <-time.After(peertest.Timeout):
		t.Fatal("no connection accepted")
		return nil, nil
	}
}

// TestOfChildProcess: the peer of a local connection (a Unix socket; a
// named pipe on Windows) is the process that connected, a child of this
// test, with this user, and Describe names its executable.
func TestOfChildProcess(t *testing.T) {
	ln, addr := listenLocal(t, false)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, cmd := acceptChild(t, ln, addr, nil, bin)
	p, err := Of(c)
	if err != nil {
		t.Fatalf("Of: %v", err)
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if p.User != self || p.PID != cmd.Process.Pid {
		t.Errorf("Of = user %q pid %d, want %q and the child's %d", p.User, p.PID, self, cmd.Process.Pid)
	}
	proc, err := Describe(p.PID)
	if err != nil {
		t.Fatalf("Describe(%d): %v", p.PID, err)
	}
	if proc.PID != p.PID || !sameFile(proc.Exe, bin) {
		t.Errorf("Describe = %+v, want pid %d running %s", proc, p.PID, bin)
	}
	// The command line as the child was given it (Windows: as
	// CommandLineToArgvW splits it).
	if len(proc.Cmdline) == 0 || !slices.Equal(proc.Cmdline[1:], cmd.Args[1:]) {
		t.Errorf("Describe's command line = %q, want %q after the program", proc.Cmdline, cmd.Args[1:])
	}
}

// TestOfRefusesWhatIsNotLocal: a TCP connection has no peer credentials
// of this kind: Of fails and says so, never a wrong answer.
func TestOfRefusesWhatIsNotLocal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p, err := Of(c); err == nil {
		t.Errorf("Of(a TCP connection) = %+v, want an error", p)
	}
}
