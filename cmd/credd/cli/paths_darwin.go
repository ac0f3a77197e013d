package cli

import "path/filepath"

var homeVars = []string{"HOME"}

// userConfigDir is ~/Library/Application Support, as os.UserConfigDir.
func userConfigDir(getenv func(string) string) (string, error) {
	home, err := homeDir(getenv)
	return filepath.Join(home, "Library", "Application Support"), err
}

// defaultStateDir is ~/Library/Application Support/credd.
func defaultStateDir(getenv func(string) string) (string, error) {
	home, err := homeDir(getenv)
	return filepath.Join(home, "Library", "Application Support", "credd"), err
}
