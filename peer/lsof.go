//go:build unix

package peer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// lsof finds a connection's owner with the system's lsof, where the OS
// offers nothing cheaper without cgo.
type lsof struct {
	path    string // absolute: a PATH entry must not choose the program
	timeout time.Duration
}

// lookup runs lsof for the connection's client address and picks the
// socket whose local end is remote and whose far end is local.
func (l lsof) lookup(local, remote netip.AddrPort) (Peer, error) {
	local, remote = unmap(local), unmap(remote)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	host := remote.Addr().String()
	if remote.Addr().Is6() {
		host = "[" + host + "]"
	}
	// -n -P: no name lookups; -w: no warnings; -F pun: machine-readable
	// PID, UID and name (the addresses) fields.
	cmd := exec.CommandContext(ctx, l.path, "-n", "-P", "-w", "-iTCP@"+host+":"+strconv.Itoa(int(remote.Port())), "-F", "pun")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && len(out) == 0 && exit.ExitCode() == 1) {
		return Peer{}, fmt.Errorf("running %s: %w", l.path, err)
	}
	return parseLsof(out, local, remote)
}

// parseLsof reads lsof -F pun output: a p (PID) and u (UID) line per
// process, then an n line per file, "LOCAL->REMOTE" for a connection.
func parseLsof(out []byte, local, remote netip.AddrPort) (Peer, error) {
	var pid int
	var uid string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		v := line[1:]
		switch line[0] {
		case 'p':
			pid, _ = strconv.Atoi(v)
			uid = ""
		case 'u':
			uid = v
		case 'n':
			from, to, ok := strings.Cut(v, "->")
			if !ok {
				continue
			}
			la, err1 := netip.ParseAddrPort(from)
			ra, err2 := netip.ParseAddrPort(to)
			if err1 != nil || err2 != nil || unmap(la) != remote || unmap(ra) != local {
				continue
			}
			if uid == "" || pid == 0 {
				return Peer{}, fmt.Errorf("lsof named no owner for %s", remote)
			}
			return Peer{User: uid, PID: pid}, nil
		}
	}
	return Peer{}, ErrNotFound
}
