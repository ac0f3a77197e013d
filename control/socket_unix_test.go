//go:build unix

package control

import (
	"net"
	"os"
	"testing"
)

// TestListenReplacesAStaleSocket: a crashed daemon leaves its socket file
// behind, and nobody answers on it: the next Listen replaces it, 0600.
func TestListenReplacesAStaleSocket(t *testing.T) {
	dir := shortDir(t)
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(SocketPath(dir)); err != nil {
		t.Fatalf("stale socket file should still exist: %v", err)
	}
	ln2, err := Listen(dir)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer ln2.Close()
	if fi, err := os.Stat(SocketPath(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", fi.Mode(), err)
	}
}
