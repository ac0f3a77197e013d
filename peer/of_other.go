//go:build unix && !linux && !darwin

package peer

import (
	"errors"
	"fmt"
	"net"
	"runtime"
)

// of: see Of. Not implemented on this OS.
func of(net.Conn) (Peer, error) {
	return Peer{}, fmt.Errorf("the peer of a Unix socket on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Describe is the process pid: its PID only on this OS.
func Describe(pid int) (Process, error) { return Process{PID: pid}, nil }
