//go:build windows

package control

import "net"

// listenUnix creates the socket. Windows has no umask: the state dir under
// %LocalAppData% inherits an ACL that gives only the user (and SYSTEM,
// Administrators) access.
func listenUnix(path string) (net.Listener, error) { return net.Listen("unix", path) }
