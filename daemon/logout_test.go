package daemon

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/store"
)

func TestStoredName(t *testing.T) {
	known := []string{"oidc/dup", "oidc/okta", "sso/corp", "sso/dup"}
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"sso/corp", "sso/corp", nil},
		{"corp", "sso/corp", nil},
		{"okta", "oidc/okta", nil},
		{"dup", "", cred.ErrInvalid},
		{"nope", "nope", nil}, // Logout says there is none
		{"sso/nope", "sso/nope", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := storedName(tc.name, known)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("storedName(%q) = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestLogoutByTheConfigName: `credd logout --session corp` forgets
// sso/corp, the one session of that name; a name two sessions share is
// refused naming both, and an unknown one is a session error.
func TestLogoutByTheConfigName(t *testing.T) {
	sessions := store.NewMemory()
	for _, k := range []string{"sso/corp", "sso/dup", "oidc/dup"} {
		if err := sessions.Put(t.Context(), k, []byte(`{"kind":"`+strings.Split(k, "/")[0]+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	r := startWith(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"), func(d *Deps) { d.Sessions = sessions })
	if removed, err := r.d.Logout(t.Context(), "corp"); err != nil || !slices.Equal(removed, []string{"sso/corp"}) {
		t.Errorf("logout corp: %v, %v; want sso/corp", removed, err)
	}
	if _, err := r.d.Logout(t.Context(), "dup"); !errors.Is(err, cred.ErrInvalid) || !strings.Contains(err.Error(), "oidc/dup and sso/dup") {
		t.Errorf("logout dup: %v; want both named", err)
	}
	_, err := r.d.Logout(t.Context(), "nope")
	if !errors.Is(err, cred.ErrUnknownSession) || errors.Is(err, cred.ErrUnknownProfile) || err.Error() != `no sign-in session "nope"` {
		t.Errorf("logout nope: %v; want a session error", err)
	}
	if removed, err := r.d.Logout(t.Context(), "oidc/dup"); err != nil || !slices.Equal(removed, []string{"oidc/dup"}) {
		t.Errorf("logout oidc/dup: %v, %v", removed, err)
	}
	if removed, err := r.d.Logout(t.Context(), "dup"); err != nil || !slices.Equal(removed, []string{"sso/dup"}) {
		t.Errorf("logout dup, now one: %v, %v", removed, err)
	}
	if left, _ := sessions.List(t.Context()); len(left) != 0 {
		t.Errorf("left in the store: %v", left)
	}
}
