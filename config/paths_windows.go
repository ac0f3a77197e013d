package config

import (
	"errors"
	"path/filepath"
)

const homeVar = "USERPROFILE"

// UserConfigDir is %AppData%, as os.UserConfigDir.
func UserConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("AppData"); d != "" {
		return d, nil
	}
	return "", errors.New("%AppData% is not set")
}

// DefaultStateDir is %LocalAppData%\credd.
func DefaultStateDir(getenv func(string) string) (string, error) {
	if d := getenv("LocalAppData"); d != "" {
		return filepath.Join(d, "credd"), nil
	}
	return "", errors.New("%LocalAppData% is not set")
}
