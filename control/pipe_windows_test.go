//go:build windows

package control

import (
	"errors"
	"strings"
	"testing"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// TestPipeAdmitsOnlyTheUser reads the pipe's security descriptor back
// from a client's handle: the user owns it, and its DACL is protected
// (nothing inherited) with one entry, which allows the user.
func TestPipeAdmitsOnlyTheUser(t *testing.T) {
	dir := shortDir(t)
	acceptAndClose(t, dir)
	c, err := winio.DialPipeContext(t.Context(), SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sd, err := windows.GetSecurityInfo(windows.Handle(c.(interface{ Fd() uintptr }).Fd()), windows.SE_KERNEL_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	user, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sd.String(), "O:"+user.String()+"D:P(A;;FA;;;"+user.String()+")"; got != want {
		t.Errorf("pipe security descriptor\n got %s\nwant %s", got, want)
	}
}

// TestPipeOfAnotherOwnerIsRefused: a pipe under the daemon's name that
// this user does not own (here: owned by the Administrators group, which
// this account may assign) is neither trusted by the client nor taken for
// "not running" by Listen.
func TestPipeOfAnotherOwnerIsRefused(t *testing.T) {
	dir := shortDir(t)
	path := SocketPath(dir)
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: "O:BAD:(A;;FA;;;WD)"})
	if err != nil {
		t.Skipf("this account cannot make a pipe owned by the Administrators group (%v): nothing to impersonate with", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, err = NewClient(dir).Status(t.Context())
	if err == nil || errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "not to this user") {
		t.Errorf("status through another owner's pipe = %v, want a refusal naming the owner", err)
	}
	if _, err := Listen(dir); err == nil || errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), "not to this user") {
		t.Errorf("Listen while another owner holds the name = %v, want a refusal", err)
	}
}

func TestSocketPathIsOnePipePerStateDir(t *testing.T) {
	a, b := SocketPath(`C:\Users\Dev\AppData\Local\credd`), SocketPath(`c:\users\dev\appdata\local\CREDD\`)
	if a != b {
		t.Errorf("one dir, two names: %s, %s", a, b)
	}
	if !strings.HasPrefix(a, `\\.\pipe\credd-`) {
		t.Errorf("pipe name %s", a)
	}
	if c := SocketPath(`C:\Users\Other\AppData\Local\credd`); c == a {
		t.Errorf("two dirs, one name: %s", c)
	}
}
