package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/imds"
	"github.com/credd/credd/peer"
)

// AuditLog records credentials answers and refusals (*audit.Log).
type AuditLog interface {
	Write(e audit.Entry) error
	WriteConn(e audit.Entry, c *audit.Conn) error
	Refused(key string, e audit.Entry, fill func(*audit.Entry)) error
	Flush() error
	// Idle: Flush has nothing to do now or later (no line buffered, no
	// refusal held for folding).
	Idle() bool
}

var _ AuditLog = (*audit.Log)(nil)

// listener is one of the daemon's listeners with its policy, which a
// reload may change (or end: a removed listener's connections are refused
// from then on).
type listener struct {
	net.Listener
	addr   string // as configured
	main   bool   // the loopback listener: connections of unknown owner are refused
	policy atomic.Pointer[listenPolicy]
	closed atomic.Bool // closed by a reload: Serve's error is expected
	d      *Daemon
}

// listenPolicy is what a listener allows.
type listenPolicy struct {
	removed bool
	nets    []netip.Prefix // extra listeners: the client networks
	profile string
	client  string
	scope   []string // nil: every profile
}

func (p *listenPolicy) allows(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// policyOf builds an extra listener's policy from its entry.
func policyOf(cfg config.Config, l config.Listener) (*listenPolicy, error) {
	p := &listenPolicy{profile: l.Profile, client: l.Client}
	for _, c := range cfg.Networks(l) {
		n, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		p.nets = append(p.nets, n.Masked())
	}
	if l.Profile != "" {
		p.scope = []string{l.Profile}
	}
	if l.Client != "" {
		cp := cfg.Clients[l.Client].Profiles
		if p.scope == nil {
			p.scope = slices.Clone(cp)
		} else if !slices.Contains(cp, l.Profile) {
			p.scope = []string{} // nothing: the client may not take the listener's profile
		}
		if p.profile == "" && len(cp) > 0 {
			p.profile = cp[0]
		}
	}
	return p, nil
}

// Accept closes connections from outside the listener's networks before
// a byte is read, and tags the rest with their listener.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		if !l.main {
			if ap, ok := addrPort(c.RemoteAddr()); !ok || !l.policy.Load().allows(ap.Addr()) {
				l.d.foldedWarn("refused a connection from outside allow_clients", ap.Addr().String()+"|"+l.addr,
					"remote", c.RemoteAddr().String(), "listener", l.addr)
				c.Close()
				continue
			}
		}
		return &acceptedConn{Conn: c, ln: l}, nil
	}
}

// acceptedConn is a connection with the listener that accepted it.
type acceptedConn struct {
	net.Conn
	ln *listener
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	return netip.AddrPort{}, false
}

// conn is one accepted connection; its owner is looked up once, at its
// first request, and its process once, when an audit line needs it.
type conn struct {
	ln            *listener
	local, remote netip.AddrPort

	once      sync.Once
	peer      peer.Peer
	err       error
	remoteStr string // remote, formatted once for the audit lines

	procOnce sync.Once
	proc     peer.Process
	cmdline  string      // proc's, redacted and cut, for the audit log
	audit    *audit.Conn // what names the connection in its audit lines, encoded once
}

type connKey struct{}

// connContext (http.Server.ConnContext) tags a connection's context with
// its conn. Nothing is looked up here: this runs in the accept loop.
func (d *Daemon) connContext(ctx context.Context, c net.Conn) context.Context {
	ac, ok := c.(*acceptedConn)
	if !ok {
		return ctx
	}
	cn := &conn{ln: ac.ln}
	cn.local, _ = addrPort(c.LocalAddr())
	cn.remote, _ = addrPort(c.RemoteAddr())
	return context.WithValue(ctx, connKey{}, cn)
}

func (d *Daemon) lookup(cn *conn) {
	cn.once.Do(func() {
		cn.remoteStr = cn.remote.String()
		cn.peer, cn.err = d.peers.Lookup(cn.local, cn.remote)
		if cn.err != nil && !errors.Is(cn.err, peer.ErrNotFound) {
			d.foldedWarn("cannot tell who opened a connection", "lookup|"+cn.ln.addr, "remote", cn.remote.String(), "error", cn.err)
		}
	})
}

// process looks cn's process up once, with its command line as the audit
// log shows it, and encodes what names the connection in its audit lines.
// cn's owner has been looked up.
func (d *Daemon) process(cn *conn) (peer.Process, string) {
	cn.procOnce.Do(func() {
		if cn.err == nil {
			cn.proc, _ = d.peers.Process(cn.peer)
			cn.cmdline = d.auditCmdline(cn.proc.Cmdline)
		}
		cn.audit = audit.NewConn(audit.Entry{UID: cn.peer.User, PID: cn.proc.PID, Exe: cn.proc.Exe, Cmdline: cn.cmdline,
			Listener: cn.ln.addr, Remote: cn.remoteStr})
	})
	return cn.proc, cn.cmdline
}

// auditCmdline is a command line as the audit log shows it: client tokens
// redacted (whole, then cut: a token cut in two would not match).
func (d *Daemon) auditCmdline(args []string) string {
	return peer.CmdlineString([]string{d.handler.Redact(strings.Join(args, " "))}, audit.MaxCmdline)
}

// auditControl writes the audit line of credentials handed out over the
// control channel: the caller as the kernel names it (control.Caller);
// the endpoint as the CLI names its command, a label only (any process
// of the user may connect, and say either).
func (d *Daemon) auditControl(req control.CredentialsRequest) {
	if d.auditLog == nil {
		return
	}
	endpoint := audit.EndpointExport
	if req.For == control.ForCredentialProcess {
		endpoint = audit.EndpointCredentialProcess
	}
	c := req.Caller
	if c.Err != nil {
		d.foldedWarn("cannot tell which process asked the control channel for credentials", "control-caller", "error", c.Err)
	}
	e := audit.Entry{Time: d.clock.Now(), Endpoint: endpoint, Profile: req.Profile, Status: http.StatusOK,
		UID: c.User, PID: c.Process.PID, Exe: c.Process.Exe, Cmdline: d.auditCmdline(c.Process.Cmdline), Listener: c.Channel}
	err := d.auditLog.Write(e)
	d.logs.pending()
	if err != nil {
		d.foldedWarn("the audit log cannot be written", "audit", "error", err)
	}
}

// admitControl decides who may use the control channel. The channel's
// permissions (a 0600 socket in a 0700 directory, a pipe that admits only
// the user's SID) keep other users out; this is the second gate, for those
// the permissions let through: root, and anyone once the state dir or the
// socket has been opened up. The daemon's own user is always served (it
// owns the state dir, the config and the daemon's process: refusing it
// would protect nothing and lock its owner out of `credd reload`); other
// users only when allow_users names them, as on the endpoints. Where the
// kernel cannot name the caller, the request is refused (fail closed),
// except on systems where credd cannot ask at all (errors.ErrUnsupported:
// Unix systems other than Linux and macOS), where the socket's mode is the
// only gate. Each refusal is a line of the audit log, folded per user and
// reason.
func (d *Daemon) admitControl(req control.AdmitRequest) error {
	c := req.Caller
	var reason, msg string
	u := d.users.Load()
	switch {
	case c.Err == nil && (c.User == d.self || u.ids[c.User]):
		return nil
	case c.Err == nil:
		reason, msg = "user", fmt.Sprintf(
			"user %s may not use this credd's control channel (allow_users: [%s]); its owner may add the user to allow_users in credd's config",
			c.User, strings.Join(u.list, ", "))
	case errors.Is(c.Err, errors.ErrUnsupported):
		d.foldedWarn("this system does not name the control channel's callers: only the socket's permissions guard it", "control-unsupported", "error", c.Err)
		return nil
	default:
		reason, msg = "unknown-peer", fmt.Sprintf(
			"credd cannot tell which user connected to its control channel (%v), so it refuses the request", c.Err)
	}
	d.foldedWarn("refused a control request", "control|"+c.User+"|"+reason, "uid", c.User, "pid", c.Process.PID, "reason", msg)
	if d.auditLog != nil {
		e := audit.Entry{Time: d.clock.Now(), Endpoint: req.Endpoint(), Status: http.StatusForbidden, Reason: msg,
			UID: c.User, PID: c.Process.PID, Listener: c.Channel}
		fill := func(e *audit.Entry) {
			p, _ := req.Describe()
			e.Exe, e.Cmdline = p.Exe, d.auditCmdline(p.Cmdline)
		}
		err := d.auditLog.Refused("control|uid:"+c.User+"|"+reason, e, fill)
		d.logs.pending()
		if err != nil {
			d.foldedWarn("the audit log cannot be written", "audit", "error", err)
		}
	}
	return &control.Error{Status: http.StatusForbidden, Code: control.CodeForbidden, Message: msg}
}

// users is allow_users resolved to user IDs.
type users struct {
	ids  map[string]bool
	list []string // as configured, for messages
}

// resolveUsers resolves allow_users: self, UIDs (SIDs on Windows), names.
func resolveUsers(list []string, self string) (*users, error) {
	u := &users{ids: map[string]bool{}, list: list}
	var errs config.Errors
	for i, name := range list {
		if name == config.Self {
			if self == "" {
				errs = append(errs, config.FieldError{Key: fmt.Sprintf("allow_users[%d]", i), Msg: "credd cannot tell which user it runs as"})
			}
			u.ids[self] = true
			continue
		}
		id, err := peer.UserID(name)
		if err != nil {
			errs = append(errs, config.FieldError{Key: fmt.Sprintf("allow_users[%d]", i), Msg: err.Error()})
			continue
		}
		u.ids[id] = true
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return u, nil
}

// attribute implements imds.Options.Attribute: who is on the other end of
// r's connection, and what this listener gives it. A request that did not
// come through the daemon's server (in-process) is not attributed.
func (d *Daemon) attribute(r *http.Request) imds.Attribution {
	cn, _ := r.Context().Value(connKey{}).(*conn)
	if cn == nil {
		return imds.Attribution{}
	}
	pol := cn.ln.policy.Load()
	switch {
	case pol.removed:
		return imds.Attribution{Reason: "listener", Refusal: "listener " + cn.ln.addr + " is no longer in the configuration"}
	case !cn.ln.main && !pol.allows(cn.remote.Addr()):
		return imds.Attribution{Reason: "network", Refusal: cn.remote.Addr().String() + " is not in allow_clients of listener " + cn.ln.addr}
	}
	d.lookup(cn)
	if cn.err == nil {
		if u := d.users.Load(); !u.ids[cn.peer.User] {
			return imds.Attribution{Reason: "user", Refusal: fmt.Sprintf(
				"user %s may not use this credd (allow_users: [%s]); its owner may add the user to allow_users in credd's config",
				cn.peer.User, strings.Join(u.list, ", "))}
		}
	} else if cn.ln.main {
		// Fail closed: on loopback every client is a local process.
		return imds.Attribution{Reason: "unknown-peer", Refusal: fmt.Sprintf(
			"credd cannot tell which user opened this connection (%v), so it refuses it; `credd doctor` says what this system lets credd see", cn.err)}
	}
	// Otherwise a connection from another network namespace (a container
	// on a bridge), let in by allow_clients.
	return imds.Attribution{Profile: pol.profile, Scope: pol.scope, Client: pol.client}
}

// recordAudit implements imds.Options.Audit. An answer on a connection
// costs no allocation and little encoding: what names the connection
// (user, process, listener, remote address) was found and encoded once,
// at its first audited answer.
func (d *Daemon) recordAudit(r *http.Request, ev imds.Event) {
	if d.auditLog == nil {
		return
	}
	e := audit.Entry{Time: d.clock.Now(), Endpoint: ev.Endpoint, Profile: ev.Profile, Status: ev.Status, Client: ev.Client}
	if ev.Endpoint == imds.EndpointOps {
		e.Endpoint = audit.EndpointMetrics
	}
	cn, _ := r.Context().Value(connKey{}).(*conn)
	if cn != nil {
		d.lookup(cn)
		e.Listener, e.Remote, e.UID = cn.ln.addr, cn.remoteStr, cn.peer.User
	}
	var err error
	if ev.Refused() {
		e.Reason = ev.Message
		key := "in-process"
		var fill func(*audit.Entry)
		if cn != nil {
			key = "uid:" + cn.peer.User
			if cn.err != nil {
				key = "addr:" + cn.remote.Addr().String() + "@" + cn.ln.addr
			}
			fill = func(e *audit.Entry) {
				p, cmdline := d.process(cn)
				e.PID, e.Exe, e.Cmdline = p.PID, p.Exe, cmdline
			}
		}
		err = d.auditLog.Refused(key+"|"+ev.Reason, e, fill)
	} else if cn != nil {
		d.process(cn)
		err = d.auditLog.WriteConn(e, cn.audit)
	} else {
		err = d.auditLog.Write(e)
	}
	// After the write, as auditControl does: the line waits in the
	// buffer, or folded, for flushLogs.
	d.logs.pending()
	if err != nil {
		d.foldedWarn("the audit log cannot be written", "audit", "error", err)
	}
}

// foldedWarn logs a warning at most once a minute per key.
func (d *Daemon) foldedWarn(msg, key string, args ...any) {
	if write, n := d.warnings.Add(key, d.clock.Now(), struct{}{}); write {
		if n > 1 {
			args = append(args, "times_since_last", n)
		}
		d.log.Warn(msg, args...)
	}
}

// flushEvery is how soon a buffered audit line reaches the file, and how
// often folded refusals are looked at, while there are any.
const flushEvery = time.Second

// logFlusher paces the writes of the audit log and the folded log lines:
// a timer every flushEvery while a line is buffered or a refusal folded,
// none while the logs are idle, so that an idle daemon does not wake up
// for them. Anything that logs calls pending; Run's loop calls arm on
// wake and fire on C.
type logFlusher struct {
	clock clock.Clock
	flush func()
	idle  func() bool // nothing to flush now or later
	armed atomic.Bool // a timer runs, or wake holds a request for one
	wake  chan struct{}
	timer clock.Timer // Run's; nil while idle
}

func newLogFlusher(clk clock.Clock, flush func(), idle func() bool) *logFlusher {
	return &logFlusher{clock: clock.Or(clk), flush: flush, idle: idle, wake: make(chan struct{}, 1)}
}

// pending says a line or a refusal waits for the next flush. Cheap when
// the timer already runs (one atomic load); safe from any goroutine.
func (f *logFlusher) pending() {
	if f.armed.Load() || !f.armed.CompareAndSwap(false, true) {
		return
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// arm starts the timer unless it runs (Run's goroutine, on wake).
func (f *logFlusher) arm() {
	if f.timer == nil {
		f.timer = f.clock.NewTimer(flushEvery)
	}
}

// C is the timer's channel; nil (never ready) while idle.
func (f *logFlusher) C() <-chan time.Time {
	if f.timer == nil {
		return nil
	}
	return f.timer.C()
}

// fire flushes, and runs the timer again unless the logs are now idle
// (Run's goroutine, on C). armed is cleared before idle is asked, so a
// line logged meanwhile either is seen by idle or finds armed clear and
// wakes the loop.
func (f *logFlusher) fire() {
	f.timer = nil
	f.flush()
	f.armed.Store(false)
	if !f.idle() {
		f.armed.Store(true)
		f.arm()
	}
}

// stop ends the timer (Run's goroutine, at its end).
func (f *logFlusher) stop() {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
}

func (d *Daemon) flushLogs() {
	d.refusals.flush()
	if d.auditLog != nil {
		if err := d.auditLog.Flush(); err != nil {
			d.foldedWarn("the audit log cannot be written", "audit", "error", err)
		}
	}
}

// logsIdle reports whether flushLogs has nothing to do, now or later.
func (d *Daemon) logsIdle() bool {
	return d.refusals.idle() && (d.auditLog == nil || d.auditLog.Idle())
}
