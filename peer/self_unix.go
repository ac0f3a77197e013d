//go:build unix

package peer

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// Self is the user this process runs as, in the form of Peer.User.
func Self() (string, error) { return strconv.Itoa(os.Geteuid()), nil }

// UserID resolves an allow_users entry that is not "self": a UID as is, or
// a user name looked up in the system's user database.
func UserID(name string) (string, error) {
	if _, err := strconv.ParseUint(name, 10, 32); err == nil {
		return name, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("no local user %q", name)
	}
	return u.Uid, nil
}
