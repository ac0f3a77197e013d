package daemon

import (
	"github.com/credd/credd/config"
)

// startOnly are the settings read only when credd starts: the loopback
// listener, the state dir (lock, token, control socket) and the
// session store. Each has the key that names it, how to tell a change, and
// how to keep the value in force.
var startOnly = []struct {
	key     string
	changed func(old, cfg *config.Config) bool
	keep    func(old, cfg *config.Config)
}{
	{"listen", func(o, c *config.Config) bool { return o.Listen != c.Listen }, func(o, c *config.Config) { c.Listen = o.Listen }},
	{"imds.allow_v1", func(o, c *config.Config) bool { return o.IMDS.AllowV1 != c.IMDS.AllowV1 }, func(o, c *config.Config) { c.IMDS.AllowV1 = o.IMDS.AllowV1 }},
	{"imds.hop_limit", func(o, c *config.Config) bool { return o.IMDS.HopLimit != c.IMDS.HopLimit }, func(o, c *config.Config) { c.IMDS.HopLimit = o.IMDS.HopLimit }},
	{"state_dir", func(o, c *config.Config) bool { return o.StateDir != c.StateDir }, func(o, c *config.Config) { c.StateDir = o.StateDir }},
	{"session_store", func(o, c *config.Config) bool { return o.SessionStore != c.SessionStore }, func(o, c *config.Config) { c.SessionStore = o.SessionStore }},
}

// keepStartOnly puts the values in force back into cfg for every setting
// that applies only after a restart, and returns the keys that differed.
func keepStartOnly(old config.Config, cfg *config.Config) []string {
	var changed []string
	for _, s := range startOnly {
		if s.changed(&old, cfg) {
			changed = append(changed, s.key)
			s.keep(&old, cfg)
		}
	}
	return changed
}
