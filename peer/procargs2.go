package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// parseProcargs2 reads kern.procargs2: argc (a native int32), the
// executable path, NUL padding, then argc NUL-terminated arguments (the
// environment follows; it is not read).
func parseProcargs2(buf []byte) (exe string, args []string, err error) {
	if len(buf) < 4 {
		return "", nil, errors.New("procargs2: too short")
	}
	argc := int(binary.NativeEndian.Uint32(buf))
	rest := buf[4:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", nil, errors.New("procargs2: no executable path")
	}
	exe, rest = string(rest[:i]), rest[i:]
	for len(rest) > 0 && rest[0] == 0 {
		rest = rest[1:]
	}
	for len(args) < argc && len(rest) > 0 {
		j := bytes.IndexByte(rest, 0)
		if j < 0 {
			j = len(rest)
		}
		args = append(args, string(rest[:j]))
		rest = rest[min(j+1, len(rest)):]
	}
	return exe, args, nil
}
