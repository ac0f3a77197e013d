//go:build windows

package privatetest

import (
	"fmt"
	"slices"

	"github.com/credd/credd/internal/peertest"
	"github.com/credd/credd/private"
	"golang.org/x/sys/windows"
)

func check(path string) error {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return err
	}
	got, err := private.ReadAccess(path)
	if err != nil {
		return err
	}
	want := private.Access{Protected: true, Allowed: []string{u.User.Sid.String()}}
	if peertest.Wine() {
		got.Protected = false // wine keeps no such flag
		want = private.Access{Allowed: []string{"S-1-5-18", u.User.Sid.String()}}
	}
	if got.Protected != want.Protected || !slices.Equal(got.Allowed, want.Allowed) {
		return fmt.Errorf("DACL %+v, want %+v", got, want)
	}
	return nil
}
