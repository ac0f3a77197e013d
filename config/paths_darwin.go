package config

import "path/filepath"

const homeVar = "HOME"

// UserConfigDir is ~/Library/Application Support, as os.UserConfigDir.
func UserConfigDir(getenv func(string) string) (string, error) {
	home, err := HomeDir(getenv)
	return filepath.Join(home, "Library", "Application Support"), err
}

// DefaultStateDir is ~/Library/Application Support/credd: the config
// directory, as on macOS application state and settings share it.
func DefaultStateDir(getenv func(string) string) (string, error) {
	dir, err := UserConfigDir(getenv)
	return filepath.Join(dir, "credd"), err
}
