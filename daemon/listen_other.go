//go:build !linux

package daemon

import "net"

// listenExtra opens an extra_listen address.
func listenExtra(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
