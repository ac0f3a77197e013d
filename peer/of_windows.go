package peer

import (
	"fmt"
	"net"

	"golang.org/x/sys/windows"
)

// of: see Of. c is a named pipe's server end (go-winio's, whose Fd is
// the pipe's handle): GetNamedPipeClientProcessId names the client's
// process, and its token the user.
func of(c net.Conn) (Peer, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return Peer{}, fmt.Errorf("%T is not a named pipe", c)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return Peer{}, fmt.Errorf("naming the pipe's client process (GetNamedPipeClientProcessId): %w", err)
	}
	sid, err := processUser(pid)
	if err != nil {
		return Peer{PID: int(pid)}, fmt.Errorf("%w: process %d: %v", ErrNotFound, pid, err)
	}
	return Peer{User: sid, PID: int(pid)}, nil
}
