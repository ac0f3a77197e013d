package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

func TestClientEnv(t *testing.T) {
	owner := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name                 string
		profile, client      string
		unchecked, noToken   bool
		wantErr              error
		wantURI, wantToken   string
		wantRegion, wantFile string
	}{
		{name: "the default profile, with the owner token", wantURI: "http://127.0.0.1:9955/v1/credentials", wantToken: owner, wantRegion: "eu-west-1", wantFile: TokenFile},
		{name: "a profile, in its region", profile: "ops", wantURI: "http://127.0.0.1:9955/v1/credentials/ops", wantToken: owner, wantRegion: "us-east-1", wantFile: TokenFile},
		{name: "an unknown profile", profile: "nope", wantErr: cred.ErrUnknownProfile},
		{name: "an unknown profile, left to the daemon", profile: "nope", unchecked: true, wantURI: "http://127.0.0.1:9955/v1/credentials/nope", wantToken: owner},
		{name: "a daemon that never ran", noToken: true, wantErr: control.ErrNotRunning},
		{name: "a scoped client: its first profile when the default is not its", client: "ci", wantURI: "http://127.0.0.1:9955/v1/credentials/ops", wantToken: "ci-token", wantRegion: "us-east-1", wantFile: filepath.Join(ClientsDir, "ci.token")},
		{name: "a scoped client may not take another profile", client: "ci", profile: "dev", wantErr: cred.ErrInvalid},
		{name: "an unknown client", client: "nope", wantErr: cred.ErrInvalid},
		{name: "a client without a token yet", client: "new", wantErr: cred.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			if !tc.noToken {
				if err := os.WriteFile(filepath.Join(state, TokenFile), []byte(owner+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(state, ClientsDir), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ClientTokenPath(state, "ci"), []byte("ci-token"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := config.Config{StateDir: state, Listen: "127.0.0.1:9955", DefaultProfile: "dev",
				Profiles: map[string]config.Profile{"dev": {Region: "eu-west-1"}, "ops": {Region: "us-east-1"}},
				Clients:  map[string]config.Client{"ci": {Profiles: []string{"ops"}}, "new": {Profiles: []string{"dev"}}}}
			e, err := ClientEnv(cfg, tc.profile, tc.client, !tc.unchecked)
			if tc.wantErr != nil || err != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			set := map[string]string{}
			for _, kv := range e.Set {
				set[kv[0]] = kv[1]
			}
			if set["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != tc.wantURI || set["AWS_CONTAINER_AUTHORIZATION_TOKEN"] != tc.wantToken || set["AWS_REGION"] != tc.wantRegion {
				t.Errorf("set %v; want URI %s, token %s, region %q", set, tc.wantURI, tc.wantToken, tc.wantRegion)
			}
			if tc.wantFile != "" && set["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] != filepath.Join(state, tc.wantFile) {
				t.Errorf("token file %s, want %s", set["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], filepath.Join(state, tc.wantFile))
			}
		})
	}
}

// TestScopedTokenWithoutADaemon: with no daemon running, the token file is
// made here, kept until revoked, and only for a configured client.
func TestScopedTokenWithoutADaemon(t *testing.T) {
	cfg := config.Config{StateDir: t.TempDir(), Clients: map[string]config.Client{"ci": {Profiles: []string{"dev"}}}}
	if _, err := ScopedToken(t.Context(), cfg, "nope", false); !errors.Is(err, cred.ErrInvalid) {
		t.Errorf("an unknown client: %v, want invalid", err)
	}
	first, err := ScopedToken(t.Context(), cfg, "ci", false)
	if err != nil || first.Path != ClientTokenPath(cfg.StateDir, "ci") || len(first.Token) < 32 {
		t.Fatalf("token %+v, %v", first, err)
	}
	again, err := ScopedToken(t.Context(), cfg, "ci", false)
	if err != nil || again.Token != first.Token {
		t.Errorf("asked again: %q, %v; want the same token", again.Token, err)
	}
	revoked, err := ScopedToken(t.Context(), cfg, "ci", true)
	if b, _ := os.ReadFile(first.Path); err != nil || revoked.Token == first.Token || string(b) != revoked.Token {
		t.Errorf("revoked: %q (file %q), %v; want a new token in the file", revoked.Token, b, err)
	}
}
