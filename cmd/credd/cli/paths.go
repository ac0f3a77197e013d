package cli

import (
	"errors"
	"os"
)

// homeDir is $HOME (%USERPROFILE% on Windows), read through IO.
func homeDir(getenv func(string) string) (string, error) {
	for _, k := range homeVars {
		if h := getenv(k); h != "" {
			return h, nil
		}
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h, nil
	}
	return "", errors.New("neither " + homeVars[0] + " nor the user database names a home directory")
}
