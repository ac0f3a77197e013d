package control

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/credd/credd/peer"
)

// What asks for credentials (GET /v1/credentials/<profile>?for=...): the
// CLI's command. It labels the audit line and is never a permission: any
// process of the user may say either.
const (
	ForExport            = "export"
	ForCredentialProcess = "credential_process"
)

// CredentialsRequest is GET /v1/credentials/<profile>?for=<command>.
type CredentialsRequest struct {
	Profile string
	// For is ForExport or ForCredentialProcess; ForExport when the client
	// did not say (an older CLI, curl).
	For string
	// Caller is who connected, as the OS tells it.
	Caller Caller
}

// Caller is the process at the other end of a control connection, as the
// kernel records it (peer.Of): nothing searched for, nothing the client
// says about itself.
type Caller struct {
	// Channel is the control socket's path (the pipe's name on Windows).
	Channel string
	// User is the process's user: a UID, a SID on Windows.
	User string
	// Process is the process that connected; its PID is 0 when unknown.
	Process peer.Process
	// Err says what the OS could not tell, if anything.
	Err error
}

// Gate is the part of a Backend that decides who may use the control
// channel beyond what the channel's permissions already decide (the
// socket's mode, the pipe's security descriptor): root passes those, and
// so does anyone once the state dir is shared. A Backend without it
// serves every caller that can connect.
type Gate interface {
	// Admit is asked before every request, with its caller as the kernel
	// names it (the user; of the process only the PID: Describe names
	// it, for an audit line). An error refuses the request: 403 with the
	// error's message (an *Error is answered as it is).
	Admit(ctx context.Context, req AdmitRequest) error
}

// AdmitRequest is a request at the gate.
type AdmitRequest struct {
	Caller Caller
	// Method and Path are the request's (Path as sent: any length, any
	// bytes the client chose).
	Method, Path string
	// For is the for= of a credentials request, as sent.
	For string
	// Describe names the caller's process (its executable and command
	// line), once per connection.
	Describe func() (peer.Process, error)
}

// Endpoint names the request as the audit log does: export or
// credential_process for credentials, console for a console link, control
// for the rest.
func (r AdmitRequest) Endpoint() string {
	switch {
	case strings.HasPrefix(r.Path, "/v1/credentials/") && r.For == ForCredentialProcess:
		return ForCredentialProcess
	case strings.HasPrefix(r.Path, "/v1/credentials/"):
		return ForExport
	case r.Path == "/v1/console":
		return "console"
	}
	return "control"
}

// errNotServed is the Caller of a request that did not come through Serve
// (a test's httptest server).
var errNotServed = errors.New("the request did not come through the control channel")

type callerKey struct{}

// callerConn is a control connection, whose caller's user is looked up at
// its first request, once, and its process when first needed, once.
type callerConn struct {
	c      net.Conn
	once   sync.Once
	caller Caller

	descOnce sync.Once
	proc     peer.Process
	descErr  error
}

// connContext (http.Server.ConnContext) tags a connection's context with
// it; nothing is looked up in the accept loop.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, callerKey{}, &callerConn{c: c})
}

// who is the connection's user (and the PID that connected), from the
// kernel's record of the socket.
func (cc *callerConn) who() Caller {
	cc.once.Do(func() {
		cc.caller.Channel = cc.c.LocalAddr().String()
		p, err := peer.Of(cc.c)
		cc.caller.User, cc.caller.Err = p.User, err
		cc.caller.Process.PID = p.PID
	})
	return cc.caller
}

// describe names the caller's process. It runs while the process waits
// for its answer, so its PID is still its own.
func (cc *callerConn) describe() (peer.Process, error) {
	c := cc.who()
	cc.descOnce.Do(func() {
		if c.Process.PID == 0 {
			cc.proc = c.Process
			return
		}
		cc.proc, cc.descErr = peer.Describe(c.Process.PID)
		cc.proc.PID = c.Process.PID
	})
	return cc.proc, cc.descErr
}

// callerOf is who sent r, its process described.
func callerOf(r *http.Request) Caller {
	cc, _ := r.Context().Value(callerKey{}).(*callerConn)
	if cc == nil {
		return Caller{Err: errNotServed}
	}
	c := cc.who()
	if c.Process.PID != 0 {
		var err error
		c.Process, err = cc.describe()
		c.Err = errors.Join(c.Err, err)
	}
	return c
}

// admit asks g whether r's caller may be served.
func admit(g Gate, r *http.Request) error {
	cc, _ := r.Context().Value(callerKey{}).(*callerConn)
	req := AdmitRequest{Method: r.Method, Path: r.URL.Path, For: r.URL.Query().Get("for")}
	if cc == nil {
		req.Caller = Caller{Err: errNotServed}
		req.Describe = func() (peer.Process, error) { return peer.Process{}, errNotServed }
	} else {
		req.Caller, req.Describe = cc.who(), cc.describe
	}
	return g.Admit(r.Context(), req)
}
