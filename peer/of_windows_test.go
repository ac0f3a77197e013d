package peer

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// listenLocal listens on a new named pipe (go-winio, as the control
// channel does). open is for Unix tests only.
func listenLocal(t *testing.T, _ bool) (net.Listener, string) {
	t.Helper()
	var r [8]byte
	_, _ = rand.Read(r[:])
	name := `\\.\pipe\credd-peer-test-` + hex.EncodeToString(r[:])
	ln, err := winio.ListenPipe(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// go-winio's first instance only holds the name; wine (and Windows 7)
	// connect the first client to it, where nobody accepts. Take it once,
	// as control.Listen does.
	if p, err := windows.UTF16PtrFromString(name); err == nil {
		if h, err := windows.CreateFile(p, 0, 0, nil, windows.OPEN_EXISTING, windows.SECURITY_SQOS_PRESENT|windows.SECURITY_ANONYMOUS, 0); err == nil {
			windows.CloseHandle(h)
		}
	}
	return ln, name
}

func dialLocal(addr string) (net.Conn, error) { return winio.DialPipe(addr, nil) }
