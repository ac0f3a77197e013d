//go:build unix

package private

import (
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Foreign reports whether fi belongs to a user other than the one credd
// runs as (the effective UID), and names that user as "UID (name)", or
// the UID alone when it has no name.
func Foreign(fi fs.FileInfo) (owner string, foreign bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return "", false
	}
	id := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(id); err == nil && u.Username != "" {
		return id + " (" + u.Username + ")", true
	}
	return id, true
}
