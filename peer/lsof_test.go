//go:build unix

package peer

import (
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/credd/credd/internal/peertest"
)

// TestLsofRealConnection runs the machine's lsof, the resolver of macOS
// and the BSDs, against a real connection: its -F output is the same on
// every system.
func TestLsofRealConnection(t *testing.T) {
	path := peertest.Tool(t, "lsof", "apt-get install lsof")
	local, remote := dial(t, "tcp4", "127.0.0.1:0")
	p, err := lsof{path: path, timeout: 10 * time.Second}.lookup(local, remote)
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(os.Geteuid()); p.User != want || p.PID != os.Getpid() {
		t.Fatalf("lookup = %+v, want user %s, pid %d", p, want, os.Getpid())
	}
	p, err = lsof{path: path, timeout: 10 * time.Second}.lookup(local, netip.AddrPortFrom(remote.Addr(), 1))
	if err != ErrNotFound {
		t.Fatalf("no such connection: %+v, %v; want ErrNotFound", p, err)
	}
}

func TestParseLsof(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:9955")
	remote := netip.MustParseAddrPort("127.0.0.1:51000")
	local6 := netip.MustParseAddrPort("[::1]:9955")
	remote6 := netip.MustParseAddrPort("[::1]:51000")
	for _, tc := range []struct {
		name          string
		out           string
		local, remote netip.AddrPort
		want          Peer
		err           error
	}{
		{
			name:  "client after the server",
			out:   "p100\nu501\nn127.0.0.1:9955->127.0.0.1:51000\np4242\nu502\nn127.0.0.1:51000->127.0.0.1:9955\n",
			local: local, remote: remote,
			want: Peer{User: "502", PID: 4242},
		},
		{
			name:  "ipv6",
			out:   "p7\nu0\nn[::1]:51000->[::1]:9955\n",
			local: local6, remote: remote6,
			want: Peer{User: "0", PID: 7},
		},
		{
			name:  "mapped",
			out:   "p7\nu501\nn[::ffff:127.0.0.1]:51000->[::ffff:127.0.0.1]:9955\n",
			local: local, remote: remote,
			want: Peer{User: "501", PID: 7},
		},
		{
			name:  "only the server's end",
			out:   "p100\nu501\nn127.0.0.1:9955->127.0.0.1:51000\n",
			local: local, remote: remote,
			err: ErrNotFound,
		},
		{
			name:  "listener and garbage",
			out:   "p100\nu501\nn*:9955\nnnonsense->x\n\n",
			local: local, remote: remote,
			err: ErrNotFound,
		},
		{name: "empty", out: "", local: local, remote: remote, err: ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLsof([]byte(tc.out), tc.local, tc.remote)
			if err != tc.err || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
