//go:build !linux && !darwin && !windows

package ondemand

// NewPresence: this OS cannot tell whether the screen is locked.
func NewPresence() Presence { return unknown{} }

type unknown struct{}

func (unknown) Locked() (locked, known bool) { return false, false }
