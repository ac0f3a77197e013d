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

	"github.com/credd/credd/atomicfile"

	"github.com/credd/credd/store"
)

// TokenFile is the container endpoint's client token under the state dir.
const TokenFile = "token"

// ErrInsecureFile is returned for a file group or others may write. It is
// the session store's sentinel, so one errors.Is covers every file credd
// refuses.
var ErrInsecureFile = store.ErrInsecureFile

// EnsureToken returns the client token from <stateDir>/token, creating the
// state dir (0700) and the token (0600, no trailing newline: SDKs reject a
// token that ends in \n) when missing. The token stays the same across
// restarts until rotated.
func EnsureToken(stateDir string) (path string, token []byte, err error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", nil, fmt.Errorf("creating state dir: %w", err)
	}
	path = filepath.Join(stateDir, TokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := CheckPrivate(path); err != nil {
			return "", nil, err
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 32 {
			return "", nil, fmt.Errorf("%s holds no usable token (too short): delete it and restart credd to make a new one", path)
		}
		return path, []byte(tok), nil
	case errors.Is(err, fs.ErrNotExist):
		var raw [32]byte
		_, _ = rand.Read(raw[:])
		tok := []byte(hex.EncodeToString(raw[:]))
		if err := atomicfile.Write(path, tok, 0o600); err != nil {
			return "", nil, fmt.Errorf("writing client token: %w", err)
		}
		return path, tok, nil
	default:
		return "", nil, fmt.Errorf("reading client token: %w", err)
	}
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
