package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/export"
)

// ClientEnv is what points an SDK at the container endpoint of the daemon
// of cfg's state dir (`credd env`, `credd exec`): for profile ("": the
// default profile), with the owner's token, or scoped client's for one of
// its profiles (the default profile if it may take it, else its first).
// Without checkProfile (a configuration with problems, whose profiles may
// be known only in part) the daemon judges the profile's name instead.
// A daemon that never ran is control.ErrNotRunning; a profile or client
// the configuration lacks, cred.ErrUnknownProfile or cred.ErrInvalid.
func ClientEnv(cfg config.Config, profile, client string, checkProfile bool) (export.Env, error) {
	if client != "" {
		return scopedEnv(cfg, profile, client)
	}
	if _, ok := cfg.Profiles[profile]; profile != "" && checkProfile && !ok {
		names := slices.Sorted(maps.Keys(cfg.Profiles))
		return export.Env{}, cred.Errorf(cred.ErrUnknownProfile, "no profile %q; configured profiles: %s", profile, strings.Join(names, ", "))
	}
	tokenPath, token, err := ReadToken(cfg.StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return export.Env{}, cred.Errorf(control.ErrNotRunning, "credd has not run yet (no client token in %s): start it with `credd serve` (or `credd service start`), then run this again", cfg.StateDir)
	}
	if err != nil {
		return export.Env{}, fmt.Errorf("reading the client token: %w", err)
	}
	return endpointEnv(cfg, profile, tokenPath, token), nil
}

// scopedEnv is ClientEnv with client's token.
func scopedEnv(cfg config.Config, profile, client string) (export.Env, error) {
	cl, ok := cfg.Clients[client]
	if !ok {
		return export.Env{}, unknownClient(client)
	}
	switch {
	case profile != "" && !slices.Contains(cl.Profiles, profile):
		return export.Env{}, cred.Errorf(cred.ErrInvalid, "client %q may not take profile %q (its profiles: %s)", client, profile, strings.Join(cl.Profiles, ", "))
	case profile == "" && !slices.Contains(cl.Profiles, cfg.DefaultProfile) && len(cl.Profiles) > 0:
		profile = cl.Profiles[0]
	}
	path := ClientTokenPath(cfg.StateDir, client)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return export.Env{}, cred.Errorf(cred.ErrInvalid, "client %q has no token yet: run `credd client token %s` first", client, client)
	}
	if err != nil {
		return export.Env{}, fmt.Errorf("reading the client token: %w", err)
	}
	return endpointEnv(cfg, profile, path, []byte(strings.TrimSpace(string(b)))), nil
}

// endpointEnv points at the container endpoint with a token, in the
// profile's region.
func endpointEnv(cfg config.Config, profile, tokenPath string, token []byte) export.Env {
	name := cmp.Or(profile, cfg.DefaultProfile)
	return export.ContainerEnv(cfg.Listen, profile, tokenPath, token, cfg.Profiles[name].Region)
}

// ScopedToken is client name's token, for `credd client token` and
// `credd client revoke` (revoke: a new one). A running daemon of cfg's
// state dir makes it and serves the new token at once; with none running
// the file is written here, and the daemon reads it when it starts.
func ScopedToken(ctx context.Context, cfg config.Config, name string, revoke bool) (control.ClientToken, error) {
	tok, err := control.NewClient(cfg.StateDir).ClientToken(ctx, name, revoke)
	if !errors.Is(err, control.ErrNotRunning) {
		return tok, err
	}
	if _, ok := cfg.Clients[name]; !ok {
		return tok, unknownClient(name)
	}
	path, t, err := ClientToken(cfg.StateDir, name, revoke)
	if err != nil {
		return tok, err
	}
	return control.ClientToken{Name: name, Path: path, Token: string(t)}, nil
}

func unknownClient(name string) error {
	return cred.Errorf(cred.ErrInvalid, "no client %q in the config: add it under clients, e.g. clients: {%s: {profiles: [dev]}}", name, name)
}
