package ondemand

import "bytes"

// screenLocked reads ioreg's plist: the key is there, followed by <true/>,
// only while the screen is locked.
func screenLocked(plist []byte) bool {
	_, rest, ok := bytes.Cut(plist, []byte("<key>CGSSessionScreenIsLocked</key>"))
	return ok && bytes.HasPrefix(bytes.TrimSpace(rest), []byte("<true/>"))
}
