//go:build windows

package control

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"

	"github.com/credd/credd/internal/privatetest"
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

// TestPipeRefusesAnotherAccount opens the pipe as another account would:
// from a thread impersonating this user's token with the user's SID made
// deny-only (CreateRestrictedToken), so that only the token's groups
// (Everyone, Users, Administrators, ...) can grant access. The control
// pipe admits the user's SID alone, so the open is refused; a pipe that
// also admits Everyone opens with the same token, which shows the
// refusal is the DACL's.
func TestPipeRefusesAnotherAccount(t *testing.T) {
	user, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	dir := shortDir(t)
	other := restrictedToken(t)
	if err := openAs(t, servePipe(t, `\\.\pipe\credd-test-everyone-`+filepath.Base(dir), "D:P(A;;FA;;;"+user.String()+")(A;;FA;;;WD)"), other); err != nil {
		t.Fatalf("a pipe that admits Everyone, opened with the restricted token: %v; want it opened", err)
	}
	acceptAndClose(t, dir)
	if err := openAs(t, SocketPath(dir), other); !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		t.Errorf("the control pipe, opened by a token without the user's SID: %v, want ERROR_ACCESS_DENIED", err)
	}
	if err := openAs(t, SocketPath(dir), 0); err != nil {
		t.Errorf("the control pipe, opened by the user: %v", err)
	}
}

// servePipe makes a pipe named path with the security descriptor sddl that
// closes every connection, until the test ends, and returns path.
func servePipe(t *testing.T, path, sddl string) string {
	t.Helper()
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return path
}

// restrictedToken is this process's token with the user's SID deny-only,
// as an impersonation token.
func restrictedToken(t *testing.T) windows.Token {
	t.Helper()
	var proc windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY|windows.TOKEN_ASSIGN_PRIMARY|windows.TOKEN_IMPERSONATE, &proc); err != nil {
		t.Fatal(err)
	}
	defer proc.Close()
	u, err := proc.GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	disable := windows.SIDAndAttributes{Sid: u.User.Sid}
	var restricted windows.Token
	r, _, err := windows.NewLazySystemDLL("advapi32.dll").NewProc("CreateRestrictedToken").Call(
		uintptr(proc), 0, 1, uintptr(unsafe.Pointer(&disable)), 0, 0, 0, 0, uintptr(unsafe.Pointer(&restricted)))
	if r == 0 {
		t.Fatalf("CreateRestrictedToken: %v", err)
	}
	defer restricted.Close()
	ru, err := restricted.GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	if ru.User.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY == 0 {
		// Measured with wine 8.0, which also checks no pipe's DACL when
		// it is opened (even one that admits nobody opens).
		t.Skip("CreateRestrictedToken left the user's SID enabled (wine 8.0 does; nor does it check a pipe's DACL on open): no other account to open the pipe as; the DACL itself is TestPipeAdmitsOnlyTheUser's")
	}
	var imp windows.Token
	if err := windows.DuplicateTokenEx(restricted, windows.TOKEN_IMPERSONATE|windows.TOKEN_QUERY, nil, windows.SecurityImpersonation, windows.TokenImpersonation, &imp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imp.Close() })
	return imp
}

// openAs opens the pipe path as the CLI does (go-winio, which waits while
// every instance is busy), from a thread impersonating token (0: as this
// process), and returns the open's error.
func openAs(t *testing.T, path string, token windows.Token) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	runtime.LockOSThread()
	if token != 0 {
		if err := windows.SetThreadToken(nil, token); err != nil {
			runtime.UnlockOSThread()
			t.Fatal(err)
		}
	}
	c, openErr := winio.DialPipeContext(ctx, path)
	if err := windows.RevertToSelf(); err != nil {
		// The thread keeps the token: it ends with the goroutine.
		t.Fatal(err)
	}
	runtime.UnlockOSThread()
	if openErr == nil {
		c.Close()
	}
	return openErr
}

// TestPrepareDirIsTheUsers: the state dir PrepareDir creates (the
// daemon's, for its token, logs and caches) and any parent it creates
// carry a DACL that admits the user alone, read back.
func TestPrepareDirIsTheUsers(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "AppData")
	dir := filepath.Join(parent, "credd")
	if _, _, err := PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	privatetest.Check(t, parent)
	privatetest.Check(t, dir)
}
