package cli

import "path/filepath"

var homeVars = []string{"HOME"}

// userConfigDir follows the XDG base directory spec, as os.UserConfigDir.
func userConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d, nil
	}
	home, err := homeDir(getenv)
	return filepath.Join(home, ".config"), err
}

// defaultStateDir is $XDG_STATE_HOME/credd (~/.local/state/credd).
func defaultStateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "credd"), nil
	}
	home, err := homeDir(getenv)
	return filepath.Join(home, ".local", "state", "credd"), err
}
