package daemon

import (
	"strings"
	"testing"

	"github.com/credd/credd/config"
)

// TestReloadKeepsStartOnlySettings: settings read only at start keep their
// value in force on reload, and the log names each one that needs a
// restart; everything else is applied.
func TestReloadKeepsStartOnlySettings(t *testing.T) {
	const base = "session_store: memory\nprofiles:\n  dev: {aws_profile: dev}\n"
	for _, tc := range []struct {
		name, add, key string
		kept           func(config.Config) bool
	}{
		{"listen", "listen: 127.0.0.1:1\n", "listen", func(c config.Config) bool { return c.Listen != "127.0.0.1:1" }},
		{"imds.allow_v1", "imds: {allow_v1: true}\n", "imds.allow_v1", func(c config.Config) bool { return !c.IMDS.AllowV1 }},
		{"imds.hop_limit", "imds: {hop_limit: 3}\n", "imds.hop_limit", func(c config.Config) bool { return c.IMDS.HopLimit != 3 }},
		{"state_dir", "state_dir: /elsewhere\n", "state_dir", func(c config.Config) bool { return c.StateDir != "/elsewhere" }},
		{"session_store", "", "session_store", func(c config.Config) bool { return c.SessionStore == "memory" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startReloadable(t, base, "[profile dev]\nregion = eu-west-1\n")
			next := base + tc.add + "default_profile: dev\n"
			if tc.key == "session_store" {
				next = strings.Replace(next, "session_store: memory", "session_store: file", 1)
			}
			writeAtomic(t, r.cfgPath, next)
			r.reload(t)
			cfg := r.d.Config()
			if !tc.kept(cfg) {
				t.Errorf("%s was applied without a restart", tc.key)
			}
			if cfg.DefaultProfile != "dev" {
				t.Errorf("default_profile = %q: the rest of the reload was not applied", cfg.DefaultProfile)
			}
			var warned bool
			for line := range strings.Lines(r.logs.String()) {
				if strings.Contains(line, `"msg":"reload: not applied until credd restarts"`) && strings.Contains(line, `"`+tc.key+`"`) {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no warning naming %s:\n%s", tc.key, r.logs)
			}
		})
	}
}
