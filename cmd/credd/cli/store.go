package cli

import (
	"context"
	"errors"
	"log/slog"

	"github.com/credd/credd/config"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/store"
)

// openStore opens the session store that session_store names. Files that
// others may write make credd refuse to start (exit 2, naming the file).
func (a *app) openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (daemon.SessionStore, error) {
	s, err := store.Open(ctx, cfg.SessionStore, cfg.StateDir, log.With("component", "store"))
	switch {
	case errors.Is(err, store.ErrInsecureFile):
		return nil, exitf(ExitUsage, "refusing to start: %w", err)
	case err != nil:
		return nil, exitf(ExitUsage, "session_store %s: %w", cfg.SessionStore, err)
	}
	return s, nil
}
