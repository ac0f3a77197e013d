package peer

import (
	"fmt"
	"os/user"
	"strings"

	"golang.org/x/sys/windows"
)

// Self is the user this process runs as, in the form of Peer.User: its
// token's SID.
func Self() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("reading this process's token: %w", err)
	}
	return u.User.Sid.String(), nil
}

// UserID resolves an allow_users entry that is not "self": a SID as is, or
// an account name (DOMAIN\name or name) looked up to its SID.
func UserID(name string) (string, error) {
	if strings.HasPrefix(strings.ToUpper(name), "S-1-") {
		sid, err := windows.StringToSid(name)
		if err != nil {
			return "", fmt.Errorf("%q is not a SID: %w", name, err)
		}
		return sid.String(), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("no local user %q", name)
	}
	return u.Uid, nil
}
