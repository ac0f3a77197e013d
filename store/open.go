package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"
)

// ProbeTimeout bounds how long Open waits for the OS keyring to answer its
// probe. D-Bus can hang when no Secret Service runs.
const ProbeTimeout = 2 * time.Second

// SessionsDir is the directory, under the state dir, of the file store.
const SessionsDir = "sessions"

// Open returns the store that kind names (the session_store setting):
//
//   - "memory": nothing survives a restart;
//   - "file": <stateDir>/sessions/;
//   - "keyring": the OS keyring, or an error naming it and why it did not
//     answer a probe within ProbeTimeout;
//   - "auto" (or ""): the keyring where it answers, else the file store.
//
// It logs which store it chose and why.
func Open(ctx context.Context, kind, stateDir string, logger *slog.Logger) (Store, error) {
	return open(ctx, kind, stateDir, logger, NewKeyring(), ProbeTimeout)
}

func open(ctx context.Context, kind, stateDir string, logger *slog.Logger, kr *Keyring, probeTimeout time.Duration) (Store, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch kind {
	case KindMemory:
		logger.Info("session store chosen", "store", KindMemory, "reason", "session_store: memory; sign-ins last until credd stops")
		return NewMemory(), nil
	case KindFile:
		s, err := openFile(stateDir)
		if err != nil {
			return nil, err
		}
		logger.Info("session store chosen", "store", KindFile, "dir", s.Dir(), "reason", "session_store: file")
		return s, nil
	case KindKeyring:
		if err := probe(ctx, kr, probeTimeout); err != nil {
			return nil, fmt.Errorf("session_store keyring: %w; set session_store to file (or auto) to keep sessions in files instead", err)
		}
		logger.Info("session store chosen", "store", KindKeyring, "keyring", Backend(), "reason", "session_store: keyring")
		return kr, nil
	case KindAuto, "":
		perr := probe(ctx, kr, probeTimeout)
		if perr == nil {
			logger.Info("session store chosen", "store", KindKeyring, "keyring", Backend(), "reason", "session_store: auto and the keyring answered")
			return kr, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("opening session store: %w", err)
		}
		s, err := openFile(stateDir)
		if err != nil {
			return nil, fmt.Errorf("%w (and %v)", err, perr)
		}
		logger.Info("session store chosen", "store", KindFile, "dir", s.Dir(), "reason", "session_store: auto and "+perr.Error())
		return s, nil
	default:
		return nil, fmt.Errorf("session_store: unknown kind %q: use auto, keyring, file or memory", kind)
	}
}

func openFile(stateDir string) (*File, error) {
	if stateDir == "" {
		return nil, errors.New("session file store: no state dir given")
	}
	return NewFile(filepath.Join(stateDir, SessionsDir))
}

// probe asks kr to answer within timeout; the error says which keyring
// failed and how.
func probe(ctx context.Context, kr *Keyring, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := kr.Probe(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no OS keyring answered: %s did not answer within %v", Backend(), timeout)
		}
		return fmt.Errorf("no OS keyring answered: %s: %w", Backend(), err)
	}
	return nil
}
