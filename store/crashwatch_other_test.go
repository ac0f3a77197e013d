//go:build unix && !linux

package store

import "testing"

// watchTemps needs inotify; elsewhere the crash test kills on the child's
// own start/done reports only.
func watchTemps(t *testing.T, dir string) (events <-chan string, stop func()) {
	return nil, func() {}
}

const haveWatch = false
