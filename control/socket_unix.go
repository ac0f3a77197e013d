//go:build unix

package control

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// SocketPath is where the control socket of stateDir lives.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// listen creates the socket under umask 0077, so that it is never open to
// others, not even before its chmod to 0600.
func listen(path string) (net.Listener, error) {
	if _, err := os.Lstat(path); err == nil {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("%w (%s answers)", ErrAlreadyRunning, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale control socket: %w", err)
		}
	}
	ln, err := listenUnix(path)
	if err != nil {
		return nil, fmt.Errorf("creating control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("securing control socket: %w", err)
	}
	return ln, nil
}

// dial connects to the socket; the 0700 state dir and the socket's 0600
// keep any other user's socket out of that path.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
