//go:build !windows

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyReload delivers SIGHUP, the Unix way to ask a daemon to reload.
func notifyReload(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, syscall.SIGHUP)
	return func() { signal.Stop(c) }
}
