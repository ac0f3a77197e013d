package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/imds"
	"github.com/credd/credd/private"
)

// ClientsDir holds the scoped clients' tokens: <state_dir>/clients/NAME.token.
const ClientsDir = "clients"

// ClientTokenPath is where client name's token lives.
func ClientTokenPath(stateDir, name string) string {
	return filepath.Join(stateDir, ClientsDir, name+".token")
}

// ClientToken returns client name's token, creating it (0600, in a 0700
// directory, no trailing newline) when missing; revoke replaces it. name
// must be a configured client (config.Validate checks the names).
func ClientToken(stateDir, name string, revoke bool) (path string, token []byte, err error) {
	path = ClientTokenPath(stateDir, name)
	if err := private.MkdirAll(filepath.Dir(path)); err != nil {
		return "", nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	if !revoke {
		tok, err := readClientToken(path)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return path, tok, err
		}
	}
	tok, err := newToken(path)
	if err != nil {
		return "", nil, err
	}
	return path, tok, nil
}

func readClientToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := CheckPrivate(path); err != nil {
		return nil, err
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 32 {
		return nil, fmt.Errorf("%s holds no usable token (too short): run `credd client revoke %s` to make a new one", path, strings.TrimSuffix(filepath.Base(path), ".token"))
	}
	return []byte(tok), nil
}

// loadClients reads the tokens of the configured clients that have one (a
// client gets its token with `credd client token`). A token file others
// may write is refused: anyone could have chosen that token.
func loadClients(stateDir string, cfg config.Config) ([]imds.Client, error) {
	var out []imds.Client
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cfg.Clients)) {
		tok, err := readClientToken(ClientTokenPath(stateDir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("clients.%s: %w", name, err))
			continue
		}
		out = append(out, imds.Client{Name: name, Token: tok, Profiles: slices.Clone(cfg.Clients[name].Profiles)})
	}
	return out, errors.Join(errs...)
}

// ClientToken returns client name's token (see the package function),
// and serves the tokens anew: a revoked token is refused once this
// returns.
func (d *Daemon) ClientToken(name string, revoke bool) (control.ClientToken, error) {
	d.clientsMu.Lock()
	defer d.clientsMu.Unlock()
	cfg := d.gen.Load().cfg
	if _, ok := cfg.Clients[name]; !ok {
		return control.ClientToken{}, cred.Errorf(cred.ErrInvalid, "no client %q in the configuration: add it under clients, e.g. clients: {%s: {profiles: [dev]}}", name, name)
	}
	path, tok, err := ClientToken(cfg.StateDir, name, revoke)
	if err != nil {
		return control.ClientToken{}, err
	}
	cs, err := loadClients(cfg.StateDir, cfg)
	if err != nil {
		return control.ClientToken{}, err
	}
	d.handler.SetClients(cs)
	if revoke {
		d.log.Info("client token revoked: the old one is refused", "client", name)
	}
	return control.ClientToken{Name: name, Path: path, Token: string(tok)}, nil
}
