package cli

import (
	"errors"
	"path/filepath"
)

var homeVars = []string{"USERPROFILE"}

// userConfigDir is %AppData%, as os.UserConfigDir.
func userConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("AppData"); d != "" {
		return d, nil
	}
	return "", errors.New("%AppData% is not set")
}

// defaultStateDir is %LocalAppData%\credd.
func defaultStateDir(getenv func(string) string) (string, error) {
	if d := getenv("LocalAppData"); d != "" {
		return filepath.Join(d, "credd"), nil
	}
	return "", errors.New("%LocalAppData% is not set")
}
