//go:build unix

package control

import (
	"net"
	"sync"
	"syscall"
)

// umaskMu serializes umask changes: the mask belongs to the process, so two
// overlapping changes could each restore the other's value.
var umaskMu sync.Mutex

// privateUmask sets the process umask to 0077 until restore is called, so
// that whatever is created meanwhile has no group or other access from its
// first instant. 0077 rather than 0177: a directory another goroutine
// creates meanwhile keeps its owner's x bit and stays usable.
func privateUmask() (restore func()) {
	umaskMu.Lock()
	old := syscall.Umask(0o077)
	return func() {
		syscall.Umask(old)
		umaskMu.Unlock()
	}
}

// listenUnix creates the socket under a private umask: it is never, not
// even before Listen's chmod, open to other users, whatever umask credd
// was started with.
func listenUnix(path string) (net.Listener, error) {
	restore := privateUmask()
	defer restore()
	return net.Listen("unix", path)
}
