package control

import (
	"context"
	"errors"
	"net"
	"net/http"
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

// errNotServed is the Caller of a request that did not come through Serve
// (a test's httptest server).
var errNotServed = errors.New("the request did not come through the control channel")

type callerKey struct{}

// callerConn is a control connection, whose caller is looked up at its
// first credentials request, once.
type callerConn struct {
	c      net.Conn
	once   sync.Once
	caller Caller
}

// connContext (http.Server.ConnContext) tags a connection's context with
// it; nothing is looked up in the accept loop.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, callerKey{}, &callerConn{c: c})
}

// callerOf is who sent r. The process is described while it waits for its
// answer, so its PID is still its own.
func callerOf(r *http.Request) Caller {
	cc, _ := r.Context().Value(callerKey{}).(*callerConn)
	if cc == nil {
		return Caller{Err: errNotServed}
	}
	cc.once.Do(func() {
		cc.caller.Channel = cc.c.LocalAddr().String()
		p, err := peer.Of(cc.c)
		cc.caller.User, cc.caller.Err = p.User, err
		if p.PID == 0 {
			return
		}
		proc, err := peer.Describe(p.PID)
		proc.PID = p.PID
		cc.caller.Process = proc
		cc.caller.Err = errors.Join(cc.caller.Err, err)
	})
	return cc.caller
}
