//go:build !linux && !darwin && !windows

package install

// New reports that this OS has no supported service manager.
func New(Definition, Env) (Manager, error) { return nil, ErrUnsupported }
