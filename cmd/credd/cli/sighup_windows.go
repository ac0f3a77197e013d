//go:build windows

package cli

import "os"

// notifyReload: Windows has no SIGHUP; `credd reload` and the config file
// watcher remain.
func notifyReload(chan<- os.Signal) (stop func()) { return func() {} }
