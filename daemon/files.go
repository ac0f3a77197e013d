package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/credd/credd/atomicfile"

	"github.com/credd/credd/private"
	"github.com/credd/credd/store"
)

// Files under the state dir: the container endpoint's client token, and
// the audit log.
const (
	TokenFile = "token"
	AuditFile = "audit.jsonl"
)

// ErrInsecureFile is returned for a file group or others may write. It is
// the session store's sentinel, so one errors.Is covers every file credd
// refuses.
var ErrInsecureFile = store.ErrInsecureFile

// EnsureToken returns the client token from <stateDir>/token, creating the
// state dir (0700) and the token (0600, no trailing newline: SDKs reject a
// token that ends in \n) when missing. The token stays the same across
// restarts until rotated.
func EnsureToken(stateDir string) (path string, token []byte, err error) {
	if err := private.MkdirAll(stateDir); err != nil {
		return "", nil, fmt.Errorf("creating state dir: %w", err)
	}
	path = filepath.Join(stateDir, TokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := CheckPrivate(path); err != nil {
			var ie *store.InsecureFileError
			if errors.As(err, &ie) && ie.Owner != "" {
				ie.Fix = "remove it (rm " + path + ") and start credd again to make a new one"
			}
			return "", nil, err
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 32 {
			return "", nil, fmt.Errorf("%s holds no usable token (too short): delete it and restart credd to make a new one", path)
		}
		return path, []byte(tok), nil
	case errors.Is(err, fs.ErrNotExist):
		tok, err := newToken(path)
		return path, tok, err
	default:
		return "", nil, fmt.Errorf("reading client token: %w", err)
	}
}

// newToken writes a new random token to path (0600, no trailing
// newline: SDKs reject a token that ends in \n) and returns it.
func newToken(path string) ([]byte, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	tok := []byte(hex.EncodeToString(raw[:]))
	if err := atomicfile.Write(path, tok, 0o600); err != nil {
		return nil, fmt.Errorf("writing client token: %w", err)
	}
	return tok, nil
}

// staleClientTemp is how old a temporary file in the clients directory
// must be before RemoveStaleTemps takes it for a leftover: `credd client
// token` writes a client's token without the state dir's lock when no
// daemon runs, so a younger one may be a write in progress.
const staleClientTemp = time.Minute

// RemoveStaleTemps removes the temporary files that a credd killed while
// it replaced a token left in the state dir (atomicfile's .tmp-token-*,
// and clients/.tmp-NAME.token-* last changed before now minus a minute),
// and returns their names relative to the state dir. Only the daemon
// holding the state dir's lock writes the owner's token, so any such file
// is a leftover: call it after Lock.
func RemoveStaleTemps(stateDir string, now time.Time) ([]string, error) {
	var removed []string
	var errs []error
	remove := func(dir string, stale func(fs.DirEntry) bool) {
		des, err := os.ReadDir(filepath.Join(stateDir, dir))
		if err != nil {
			if dir == "" || !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return
		}
		for _, de := range des {
			if !strings.HasPrefix(de.Name(), atomicfile.TempPrefix) || !de.Type().IsRegular() || !stale(de) {
				continue
			}
			if err := os.Remove(filepath.Join(stateDir, dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, filepath.Join(dir, de.Name()))
		}
	}
	remove("", func(de fs.DirEntry) bool {
		return strings.HasPrefix(de.Name(), atomicfile.TempPrefix+TokenFile+"-")
	})
	remove(ClientsDir, func(de fs.DirEntry) bool {
		if !strings.Contains(de.Name(), ".token-") {
			return false
		}
		fi, err := de.Info()
		return err == nil && fi.ModTime().Before(now.Add(-staleClientTemp))
	})
	return removed, errors.Join(errs...)
}

// ReadToken reads an existing token (for `credd env`).
func ReadToken(stateDir string) (path string, token []byte, err error) {
	path = filepath.Join(stateDir, TokenFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return path, nil, err
	}
	return path, []byte(strings.TrimSpace(string(b))), nil
}
