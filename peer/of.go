package peer

import "net"

// Of tells who holds the client end of c, a connection accepted on a Unix
// socket of this machine (on Windows, a named pipe): the control
// channel's callers. Unlike Lookup, nothing is searched for and nothing
// can be mistaken: the kernel keeps the connecting process's credentials
// with the socket (SO_PEERCRED on Linux; LOCAL_PEERCRED and LOCAL_PEERPID
// on macOS) and names a pipe's client process
// (GetNamedPipeClientProcessId on Windows; the user is that process's
// token's). The PID is the process that connected, alive while it waits
// for its answer; Describe says what it runs. Other Unix systems answer
// errors.ErrUnsupported.
func Of(c net.Conn) (Peer, error) { return of(c) }
