package install

// New returns this OS's Manager for def: a launchd agent or daemon.
func New(def Definition, env Env) (Manager, error) { return NewLaunchd(def, env), nil }
