package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/store"
)

// ErrRefused marks why credd refuses to start: a file or directory of its
// own that others could change, another credd on the same state dir, a
// session store it cannot open. Fixing the setup, not retrying, helps.
var ErrRefused = errors.New("refusing to start")

// ServeOptions is what Serve needs beyond the configuration and Deps.
type ServeOptions struct {
	// Info is what the control API's status says of this process.
	Info ControlInfo
	// Listeners serve the endpoints, the loopback one first; nil listens
	// on the configured addresses (Listen). Serve owns and closes them.
	Listeners []net.Listener
	// Reload asks for a reload on every value (SIGHUP); nil: never.
	Reload <-chan os.Signal
	// Started, if set, is called once the control socket and the endpoints
	// listen.
	Started func(*Daemon)
}

// Serve runs credd on cfg until ctx ends, as `credd serve` does. It
// refuses a config file (deps.ConfigPath) others may write; makes the
// state dir private and locks it against a second daemon; makes sure of
// the client token, opens the session store that session_store names and
// the audit log (each unless deps has one); builds the daemon; serves
// the control API on <state_dir>/control.sock and the endpoints; and
// reloads on every value of opts.Reload. It returns when everything it
// started has stopped. Errors of a setup that makes credd refuse to start
// wrap ErrRefused.
func Serve(ctx context.Context, cfg config.Config, deps Deps, opts ServeOptions) error {
	log := deps.Logger
	if deps.ConfigPath != "" {
		if err := CheckPrivate(deps.ConfigPath); err != nil {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
	}
	if err := checkAWSFiles(cfg, deps); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	// The state dir holds the token and the control socket: only its
	// owner may enter it.
	was, tightened, err := control.PrepareDir(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if tightened && log != nil {
		log.Warn("the state dir was open to group or others: made it private (0700)", "dir", cfg.StateDir, "mode_was", fmt.Sprintf("%04o", was))
	}
	unlock, err := Lock(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	defer unlock()
	removed, err := RemoveStaleTemps(cfg.StateDir, clock.Or(deps.Clock).Now())
	if len(removed) > 0 && log != nil {
		log.Info("removed the temporary files an earlier credd left", "dir", cfg.StateDir, "files", removed)
	}
	if err != nil && log != nil {
		log.Warn("could not remove the temporary files an earlier credd left", "dir", cfg.StateDir, "error", err)
	}
	if deps.ClientToken == nil {
		if _, deps.ClientToken, err = EnsureToken(cfg.StateDir); err != nil {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
	}
	if deps.Sessions == nil {
		if deps.Sessions, err = openStore(ctx, cfg, deps); err != nil {
			return err
		}
	}
	if deps.Audit == nil {
		l, err := audit.Open(audit.Options{Path: filepath.Join(cfg.StateDir, AuditFile)})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRefused, err)
		}
		defer l.Close()
		deps.Audit = l
	}
	d, err := New(ctx, cfg, deps)
	if err != nil {
		return err
	}
	ctl, err := control.Listen(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	lns := opts.Listeners
	if lns == nil {
		if lns, err = Listen(cfg); err != nil {
			ctl.Close()
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := control.Serve(ctx, ctl, d.ControlBackend(opts.Info), d.log.With("component", "control")); err != nil {
			d.log.Error("control socket stopped", "error", err)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-opts.Reload:
				if err := d.Reload(ctx, "SIGHUP"); err != nil && ctx.Err() == nil {
					d.log.Error("reload failed", "error", err)
				}
			}
		}
	})
	d.log.Info("credd started", "version", opts.Info.Version, "profiles", len(cfg.Profiles), "state_dir", cfg.StateDir, "control", control.SocketPath(cfg.StateDir))
	if opts.Started != nil {
		opts.Started(d)
	}
	if err := d.Run(ctx, lns...); err != nil {
		return fmt.Errorf("daemon stopped: %w", err)
	}
	d.log.Info("credd stopped")
	return nil
}

// openStore opens the session store that session_store names. Files that
// others may write make credd refuse to start, naming the file.
func openStore(ctx context.Context, cfg config.Config, deps Deps) (SessionStore, error) {
	log := deps.Logger
	if log != nil {
		log = log.With("component", "store")
	}
	s, err := store.Open(ctx, cfg.SessionStore, cfg.StateDir, log)
	switch {
	case errors.Is(err, store.ErrInsecureFile):
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	case err != nil:
		return nil, cred.Errorf(ErrRefused, "session_store %s: %w", cfg.SessionStore, err)
	}
	return s, nil
}
