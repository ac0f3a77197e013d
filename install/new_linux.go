package install

// New returns this OS's Manager for def: a systemd unit.
func New(def Definition, env Env) (Manager, error) { return NewSystemd(def, env), nil }
