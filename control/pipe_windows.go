//go:build windows

package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// SocketPath is the control channel of stateDir: on Windows the named pipe
// \\.\pipe\credd-<hash of the state dir's absolute path>. Windows has no
// socket files to put in the state dir; a pipe name is global, so the
// hash keeps one name per state dir.
func SocketPath(stateDir string) string {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		abs = stateDir
	}
	// Paths are case-insensitive on Windows: one dir, one name.
	sum := sha256.Sum256([]byte(strings.ToLower(filepath.Clean(abs))))
	return `\\.\pipe\credd-` + hex.EncodeToString(sum[:8])
}

// pipeSecurity is the pipe's security descriptor (SDDL): owned by the
// user, and a protected DACL (nothing inherited) that allows the user and
// nobody else. Without it the default DACL lets every local account, the
// anonymous one included, read from the pipe.
func pipeSecurity(user *windows.SID) string {
	return "O:" + user.String() + "D:P(A;;FA;;;" + user.String() + ")"
}

// listen creates the pipe, after making sure no daemon answers on it. (A
// pipe goes away with its process: there is nothing stale to remove.)
func listen(path string) (net.Listener, error) {
	user, err := currentUser()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	c, err := dial(ctx, path)
	cancel()
	switch {
	case err == nil:
		c.Close()
		return nil, fmt.Errorf("%w (%s answers)", ErrAlreadyRunning, path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: pipeSecurity(user)})
	if err != nil {
		return nil, fmt.Errorf("creating control pipe %s: %w", path, err)
	}
	takePlaceholder(path)
	return ln, nil
}

// takePlaceholder opens and closes the first instance of a new pipe.
// go-winio creates that instance only to hold the name: Windows 10 keeps it
// disconnected, but Windows 7 and wine let the first client connect to it,
// and nobody ever serves that client (go-winio issues 173 and 313). Taken
// once here, it is nobody's. Where it is held disconnected, the open finds
// no instance to connect to and fails: there is nothing to take. Under
// wine a client that dials in the instant between the pipe's creation and
// this open takes it first and waits for an answer that never comes:
// AwaitStatus bounds each attempt for that (statusAttempt).
func takePlaceholder(path string) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return
	}
	h, err := windows.CreateFile(p, 0, 0, nil, windows.OPEN_EXISTING, windows.SECURITY_SQOS_PRESENT|windows.SECURITY_ANONYMOUS, 0)
	if err == nil {
		windows.CloseHandle(h)
	}
}

// dial connects to the pipe and makes sure this user owns it: a pipe name
// is anybody's to take, and a pipe another user made could hand the CLI
// credentials or sign-in links of its choosing. The dial asks for no
// impersonation, so whoever serves the pipe cannot act as this user.
// No pipe at all is a *net.OpError (dial) wrapping fs.ErrNotExist.
func dial(ctx context.Context, path string) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: err}
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return nil, fmt.Errorf("the control pipe %s exists, but this user may not open it: another user's program holds the name; stop it, or set another state_dir", path)
	case err != nil:
		return nil, fmt.Errorf("opening the control pipe: %w", err)
	}
	if err := checkOwner(c, path); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// checkOwner refuses a pipe that this user does not own.
func checkOwner(c net.Conn, path string) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("control pipe %s: cannot read its owner", path)
	}
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("control pipe %s: reading its owner: %w", path, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("control pipe %s: reading its owner: %w", path, err)
	}
	user, err := currentUser()
	if err != nil {
		return err
	}
	if !owner.Equals(user) {
		return fmt.Errorf("the control pipe %s belongs to %s, not to this user (%s): another user's program may be posing as credd; stop it, or set another state_dir", path, owner, user)
	}
	return nil
}

// currentUser is the SID of the user this process runs as.
func currentUser() (*windows.SID, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("finding this user's SID: %w", err)
	}
	return u.User.Sid, nil
}
