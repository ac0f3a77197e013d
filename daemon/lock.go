package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/credd/credd/private"
)

// LockFile is the file whose lock marks the running daemon of a state dir.
const LockFile = "credd.lock"

// ErrLocked means another daemon holds the state dir.
var ErrLocked = errors.New("another credd is running with this state dir")

// Lock takes the state dir's lock for this process and writes its PID
// into the lock file. The OS drops the lock when the process dies, so a
// crashed daemon never blocks the next one. The returned func releases it.
func Lock(stateDir string) (unlock func(), err error) {
	if err := private.MkdirAll(stateDir); err != nil {
		return nil, fmt.Errorf("creating state dir: %w", err)
	}
	path := filepath.Join(stateDir, LockFile)
	if err := private.CreateIfMissing(path); err != nil {
		return nil, fmt.Errorf("creating lock file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		pid := "unknown"
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			pid = strings.TrimSpace(string(b))
		}
		f.Close()
		return nil, fmt.Errorf("%w: process %s holds %s; stop it (`credd service stop`, or kill %s) or use another state_dir", ErrLocked, pid, path, pid)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return func() { unlockFile(f); f.Close() }, nil
}
