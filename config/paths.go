package config

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
)

// The per-OS places of DESIGN.md §6. getenv is the environment as cmd
// reads it (tests pass their own); nothing here reads it otherwise.

// HomeDir is the user's home directory: $HOME (%USERPROFILE% on Windows),
// else what the user database says.
func HomeDir(getenv func(string) string) (string, error) {
	if h := getenv(homeVar); h != "" {
		return h, nil
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h, nil
	}
	return "", errors.New("neither " + homeVar + " nor the user database names a home directory")
}

// DefaultPath is the configuration file's default location:
// <UserConfigDir>/credd/config.yaml.
func DefaultPath(getenv func(string) string) (string, error) {
	dir, err := UserConfigDir(getenv)
	return filepath.Join(dir, "credd", "config.yaml"), err
}

// UserName is the local user's name (the default role session name, and
// the account a system service runs as): what the user database says,
// else $USER, $USERNAME or $LOGNAME, else "credd".
func UserName(getenv func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return "credd"
}
