package imds

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/credd/credd/cred"
)

func TestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		ok     bool
	}{
		{"unknown profile", fmt.Errorf("%w: %q", cred.ErrUnknownProfile, "prod"), http.StatusNotFound, CodeNotFound, true},
		{"unknown session", cred.Errorf(cred.ErrUnknownSession, "no session %q", "corp"), http.StatusNotFound, CodeNotFound, true},
		{"sign-in required", fmt.Errorf("%w: profile dev: %w", cred.ErrNotAvailable, cred.ErrLoginRequired), http.StatusServiceUnavailable, CodeLoginRequired, true},
		{"MFA code required", fmt.Errorf("%w: profile dev: %w", cred.ErrNotAvailable, cred.ErrMFARequired), http.StatusServiceUnavailable, CodeLoginRequired, true},
		{"not available", fmt.Errorf("%w: profile dev: still fetching", cred.ErrNotAvailable), http.StatusServiceUnavailable, CodeNotAvailable, true},
		{"invalid", cred.Errorf(cred.ErrInvalid, "unknown destination"), http.StatusBadRequest, CodeBadRequest, true},
		{"conflict", cred.Errorf(cred.ErrConflict, "a browser sign-in is under way"), http.StatusConflict, CodeConflict, true},
		{"of no kind", errors.New("federation endpoint down"), 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, ok := ErrorStatus(tc.err)
			if status != tc.status || code != tc.code || ok != tc.ok {
				t.Errorf("ErrorStatus = %d %q %v, want %d %q %v", status, code, ok, tc.status, tc.code, tc.ok)
			}
		})
	}
}
