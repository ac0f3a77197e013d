//go:build !darwin && !windows

package config

import "path/filepath"

const homeVar = "HOME"

// UserConfigDir follows the XDG base directory spec, as os.UserConfigDir:
// $XDG_CONFIG_HOME, else ~/.config.
func UserConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d, nil
	}
	home, err := HomeDir(getenv)
	return filepath.Join(home, ".config"), err
}

// DefaultStateDir is $XDG_STATE_HOME/credd (~/.local/state/credd).
func DefaultStateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "credd"), nil
	}
	home, err := HomeDir(getenv)
	return filepath.Join(home, ".local", "state", "credd"), err
}
