//go:build !windows

package peertest

// Wine reports whether this Windows is wine: never, on this OS.
func Wine() bool { return false }
