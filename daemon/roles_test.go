package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/ssotest"
	"github.com/credd/credd/login"
)

// TestRolesWithoutADaemon: with no daemon running, the accounts and roles
// come from the portal with the AWS CLI's cached token; without a usable
// one, only a sign-in helps.
func TestRolesWithoutADaemon(t *testing.T) {
	now := time.Now()
	portal := ssotest.New(t, ssotest.Options{Accounts: []ssotest.Account{
		{ID: "111122223333", Name: "dev", Roles: []string{"Developer", "ReadOnly"}},
		{ID: "444455556666", Name: "prod", Roles: []string{"ReadOnly"}},
	}})
	const startURL = "https://corp.awsapps.com/start"
	for _, tc := range []struct {
		name    string
		session string
		cache   string // the cache file's content; "" is none
		want    []config.Role
		wantErr error
	}{
		{name: "the cached token lists them", session: "corp",
			cache: fmt.Sprintf(`{"startUrl": %q, "region": "eu-west-1", "accessToken": "cached-token", "expiresAt": %q}`, startURL, now.Add(time.Hour).UTC().Format(time.RFC3339)),
			want:  []config.Role{{AccountID: "111122223333", AccountName: "dev", Name: "Developer"}, {AccountID: "111122223333", AccountName: "dev", Name: "ReadOnly"}, {AccountID: "444455556666", AccountName: "prod", Name: "ReadOnly"}}},
		{name: "no cached token", session: "corp", wantErr: cred.ErrLoginRequired},
		{name: "an expired cached token", session: "corp",
			cache:   fmt.Sprintf(`{"startUrl": %q, "region": "eu-west-1", "accessToken": "cached-token", "expiresAt": %q}`, startURL, now.Add(-time.Minute).UTC().Format(time.RFC3339)),
			wantErr: cred.ErrLoginRequired},
		{name: "an unknown session", session: "nope", wantErr: cred.ErrUnknownSession},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, state := t.TempDir(), t.TempDir() // no daemon answers there
			if tc.cache != "" {
				file := login.AWSCLICacheFile(home, tc.session)
				if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(tc.cache), 0o600); err != nil {
					t.Fatal(err)
				}
				portal.Accept("cached-token")
			}
			cfg := config.Config{StateDir: state, SSOSessions: map[string]config.SSOSession{
				"corp": {StartURL: startURL, Region: "eu-west-1", Endpoint: portal.URL},
			}}
			got, err := Roles(t.Context(), cfg, tc.session, home, now)
			if tc.wantErr != nil || err != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("roles %v\nwant  %v", got, tc.want)
			}
		})
	}
}
