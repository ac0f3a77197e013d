//go:build unix

package peer

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// listenLocal listens on a Unix socket in a new directory; open: a
// directory and socket every user may enter and connect to.
func listenLocal(t *testing.T, open bool) (net.Listener, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "peer") // short: socket paths are at most 104 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if open {
		for _, p := range []string{dir, path} {
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ln, path
}

func dialLocal(addr string) (net.Conn, error) { return net.Dial("unix", addr) }
