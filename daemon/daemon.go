// Package daemon wires credd together: one refresher per configured profile,
// the endpoints in front of them, the listeners, the client token and the
// metrics. Serve runs it as `credd serve` does: the private, locked state
// dir, the session store and the control socket around it. It owns every
// goroutine it starts and stops them on cancel.
//
// State that needs a lock lives in a type that owns it, and the Daemon
// reaches it through that type's methods only: the sign-in sessions, their
// flows and the MFA sessions (sessionRegistry), sign-in on demand
// (onDemand), the clock-skew warnings (skewWatch). The Daemon wires them
// to the endpoints, the control API and the refreshers.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/fold"
	"github.com/credd/credd/imds"
	"github.com/credd/credd/ondemand"
	"github.com/credd/credd/peer"
	"github.com/credd/credd/refresh"
)

// Deps are the daemon's dependencies, passed in rather than global.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer // serves /metrics; nil: no /metrics
	Clock      clock.Clock
	HTTPClient *http.Client // for credd's own STS calls; nil: a default with timeouts
	// RequestWait bounds how long an HTTP request waits for credentials
	// being fetched; 0 is the endpoints' default (3 s, inside SDK clients'
	// timeouts). Tests lengthen it where a first fetch is slow (a helper
	// process under wine on a loaded machine).
	RequestWait time.Duration
	// AWSConfigFiles and AWSCredentialFiles locate the shared AWS files for
	// aws_profile sources; empty uses the SDK's defaults.
	AWSConfigFiles     []string
	AWSCredentialFiles []string
	// UserName is the local user, the default role session name.
	UserName string
	// ClientToken is the container endpoint's token (see EnsureToken).
	ClientToken []byte
	// Policy overrides the refresh policy's fixed parts (tests); the
	// config's refresh.* keys still apply.
	Policy *refresh.Policy
	// LoadConfig reads the configuration again for a reload (cmd/credd
	// supplies it: it owns the file, the environment and the flags). Nil:
	// reloads are refused.
	LoadConfig func() (config.Config, error)
	// ConfigPath, if set, is watched: a change on disk triggers a reload.
	ConfigPath string
	// Sessions is the session store (nil: sessions live nowhere).
	Sessions SessionStore
	// Secret reads a client secret from the environment variable that
	// client_secret_env names (cmd/credd owns the environment).
	Secret func(envName string) string
	// Notifier shows desktop notifications; nil shows none.
	Notifier Notifier
	// HomeDir is the user's home directory, for the AWS CLI's SSO token
	// cache (sso_sessions.*.share_aws_cli_cache); empty: no sharing.
	HomeDir string
	// Peers attributes connections to users and processes; nil: the
	// OS's (peer.New).
	Peers peer.Resolver
	// Self is the user credd runs as, in the form of peer.Peer.User
	// ("self" in allow_users); empty: peer.Self().
	Self string
	// Audit records credentials answers and refusals; nil: none.
	Audit AuditLog
	// LoginCacheDir is AWS_LOGIN_CACHE_DIRECTORY: where the AWS CLI keeps
	// `aws login` sessions, if not under HomeDir (signin.share_aws_cli_cache).
	LoginCacheDir string
	// OpenBrowser opens a URL in the user's browser, for sign_in_on_demand:
	// browser; nil: credd cannot, and notifies instead.
	OpenBrowser func(url string) error
	// Presence tells whether the screen is locked (sign_in_on_demand);
	// nil: the OS's (ondemand.NewPresence).
	Presence ondemand.Presence
	// WakeCheck is how often credd looks for a resume from sleep or an
	// unlocked screen; 0: clock.SleepCheck.
	WakeCheck time.Duration
}

// Daemon is a configured credd.
type Daemon struct {
	deps      Deps
	log       *slog.Logger
	http      *http.Client
	metrics   *metrics
	handler   *imds.Handler
	gen       atomic.Pointer[generation]
	reloads   chan reloadRequest // served by Run
	loginReqs chan loginRequest  // served by Run, which owns the flows
	started   time.Time
	sessions  *sessionRegistry
	onDemand  *onDemand
	// sched owns the wake-ups of every refresher and session: one
	// goroutine for all, not one per profile.
	sched     *refresh.Scheduler
	skew      *skewWatch
	clock     clock.Clock
	peers     peer.Resolver
	self      string
	users     atomic.Pointer[users]
	auditLog  AuditLog
	warnings  *fold.Window[struct{}]
	refusals  *refusalLog // the endpoints' refusals, folded in the log
	logs      *logFlusher // Run's pacing of flushLogs
	clientsMu sync.Mutex  // serializes reading the client tokens and serving them
	// serving is Run's: its server and listeners, for reloads.
	serving *serving
}

// serving is what Run serves with; only Run's goroutine touches it.
type serving struct {
	srv  *http.Server
	wg   *sync.WaitGroup
	errc chan error
	lns  map[string]*listener // extra listeners by configured address
	hops int
}

type reloadRequest struct {
	reason string
	reply  chan error
}

// New builds the daemon from a validated configuration.
func New(ctx context.Context, cfg config.Config, deps Deps) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Daemon{deps: deps, log: deps.Logger, http: deps.HTTPClient, reloads: make(chan reloadRequest),
		started: clock.Or(deps.Clock).Now(), loginReqs: make(chan loginRequest), onDemand: newOnDemand()}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.http == nil {
		d.http = &http.Client{Timeout: 30 * time.Second}
	}
	d.clock = clock.Or(deps.Clock)
	d.sched = refresh.NewScheduler(deps.Clock, nil)
	d.warnings = fold.New[struct{}](time.Minute, 256)
	d.auditLog = deps.Audit
	d.logs = newLogFlusher(deps.Clock, d.flushLogs, d.logsIdle)
	d.refusals = newRefusalLog(d.log.With("component", "http"), d.clock, d.logs.pending)
	d.peers, d.self = deps.Peers, deps.Self
	if d.peers == nil {
		r, err := peer.New()
		if err != nil {
			return nil, fmt.Errorf("attributing connections: %w", err)
		}
		d.peers = r
	}
	if d.self == "" {
		var err error
		if d.self, err = peer.Self(); err != nil {
			return nil, err
		}
	}
	u, err := resolveUsers(cfg.AllowUsers, d.self)
	if err != nil {
		return nil, err
	}
	d.users.Store(u)
	clients, err := loadClients(cfg.StateDir, cfg)
	if err != nil {
		return nil, err
	}
	// Every upstream answer is checked against this machine's clock.
	base := d.http.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	d.skew = &skewWatch{base: base, clock: clock.Or(deps.Clock), log: d.log, host: map[string]time.Duration{}}
	watched := *d.http
	watched.Transport = d.skew
	d.http = &watched
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg, d)
	if err != nil {
		return nil, err
	}
	d.metrics = m
	d.sessions = newSessionRegistry(sessionDeps{
		Store: deps.Sessions, Clock: deps.Clock, Logger: d.log, HTTP: d.http, Secret: deps.Secret,
		HomeDir: deps.HomeDir, LoginCacheDir: deps.LoginCacheDir, Notifier: deps.Notifier, OnChange: d.sessionChanged, OnFlow: d.onFlow,
	})
	shared := readShared(deps)
	cfg = adoptLoginSessions(cfg, shared)
	d.configureOnDemand(cfg)
	d.sessions.sync(ctx, cfg)
	g := d.buildGeneration(ctx, cfg, nil, shared)
	d.gen.Store(g)
	d.sessions.load(ctx)

	var mh http.Handler
	if deps.Gatherer != nil {
		mh = promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{})
	}
	token := deps.ClientToken
	d.handler = imds.New(imds.Options{
		Provider:       d,
		DefaultProfile: g.defaultProfile,
		RegionFunc:     g.region,
		ClientToken:    func() []byte { return token },
		AllowV1:        cfg.IMDS.AllowV1,
		Hosts:          cfg.Addresses(),
		Clock:          deps.Clock,
		Wait:           deps.RequestWait,
		Logger:         d.log.With("component", "http"),
		Metrics:        m,
		MetricsHandler: mh,
		Console:        imdsConsole{d},
		Attribute:      d.attribute,
		Audit:          d.recordAudit,
		Refused:        d.refusals.refused,
	})
	d.handler.SetClients(clients)
	return d, nil
}

// DefaultProfile is the profile IMDS lists: default_profile, else the only
// profile, else one named "default".
func DefaultProfile(cfg config.Config) string {
	if cfg.DefaultProfile != "" {
		return cfg.DefaultProfile
	}
	if len(cfg.Profiles) == 1 {
		for name := range cfg.Profiles {
			return name
		}
	}
	if _, ok := cfg.Profiles["default"]; ok {
		return "default"
	}
	return ""
}

// Current implements imds.Provider.
func (d *Daemon) Current(ctx context.Context, profile string) (cred.Credentials, error) {
	e, ok := d.gen.Load().entries[profile]
	if !ok {
		return cred.Credentials{}, fmt.Errorf("%w: %q", cred.ErrUnknownProfile, profile)
	}
	c, err := e.r.Current(ctx)
	if err != nil && errors.Is(err, cred.ErrLoginRequired) && !errors.Is(err, cred.ErrMFARequired) {
		err = d.askSignIn(ctx, profile, err)
	}
	return c, err
}

// Handler serves every HTTP endpoint.
func (d *Daemon) Handler() http.Handler { return d.handler }

// Config is the configuration in force.
func (d *Daemon) Config() config.Config { return d.gen.Load().cfg }

// ProfileStatus is one profile's refresher status and its source kind.
type ProfileStatus struct {
	refresh.Status
	Source config.SourceKind
}

// Status reports every profile's refresher, sorted by name.
func (d *Daemon) Status() []ProfileStatus {
	g := d.gen.Load()
	out := make([]ProfileStatus, 0, len(g.names))
	for _, n := range g.names {
		e := g.entries[n]
		out = append(out, ProfileStatus{Status: e.r.Status(), Source: e.source})
	}
	return out
}

// Reload asks the running daemon to read its configuration again. An
// invalid configuration is refused with its errors and the one in force
// stays.
func (d *Daemon) Reload(ctx context.Context, reason string) error {
	req := reloadRequest{reason: reason, reply: make(chan error, 1)}
	select {
	case d.reloads <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Server returns an http.Server with credd's limits: the request head's
// size (answered 431 beyond MaxRequestHead) and timeouts.
func (d *Daemon) Server() *http.Server {
	return &http.Server{
		Handler:           d.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
		ConnContext:       d.connContext,
	}
}

// MaxRequestHead bounds a request's head (request line and headers),
// as docs/security.md states. SDK requests carry well under 2 KiB.
const MaxRequestHead = 16 << 10

// MaxHeaderBytes is the http.Server setting that makes MaxRequestHead the
// limit: net/http reads up to MaxHeaderBytes + 4096 bytes of a head
// ("bufio slop") before it answers 431.
const MaxHeaderBytes = MaxRequestHead - 4096

// Run serves on the listeners and runs every refresher until ctx ends, then
// stops accepting, lets in-flight requests finish (up to 10 s) and stops the
// refreshers. It owns and closes the listeners. The first listener is the
// loopback one; the others are extra_listen's, in order (as Listen opens
// them), and accept only clients from their allow_clients. Reloads are
// applied here, between requests: listeners added to extra_listen are
// opened, removed ones closed, changed ones take their new policy.
func (d *Daemon) Run(ctx context.Context, listeners ...net.Listener) error {
	cfg := d.gen.Load().cfg
	if len(listeners) == 0 {
		return errors.New("no listener to serve on")
	}
	// The refresh loops outlive the listeners' shutdown: a request in
	// flight when the signal came may be waiting on an upstream fetch.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.sched.Run(rctx) })
	d.startEntries(d.gen.Load())
	d.sessions.start(d.sched)

	srv := d.Server()
	sv := &serving{srv: srv, wg: &wg, errc: make(chan error, 1), lns: map[string]*listener{}, hops: cfg.IMDS.HopLimit}
	d.serving = sv
	main := &listener{Listener: listeners[0], addr: cfg.Listen, main: true, d: d}
	main.policy.Store(&listenPolicy{})
	d.serve(sv, main)
	for i, ln := range listeners[1:] {
		if i >= len(cfg.ExtraListen) {
			ln.Close()
			continue
		}
		pol, err := policyOf(cfg, cfg.ExtraListen[i])
		if err != nil {
			ln.Close()
			continue
		}
		l := &listener{Listener: ln, addr: cfg.ExtraListen[i].Address, d: d}
		l.policy.Store(pol)
		sv.lns[l.addr] = l
		d.serve(sv, l)
	}
	changes := d.watchConfig(rctx, &wg)
	d.watchSSOCaches(rctx, &wg)
	wake := d.wakeCheck(rctx)
	wg.Go(func() {
		// One detector of the machine's sleep: the scheduler re-times
		// the renewals, the on-demand sign-ins start.
		clock.WatchSleep(rctx, d.deps.Clock, d.deps.WakeCheck, func(resumed bool) {
			d.checkSleep(resumed)
			wake(resumed)
		})
	})
	summary := d.clock.NewTimer(summaryEvery)
	defer func() { summary.Stop() }()
	defer d.logs.stop()
	errc := sv.errc
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-errc:
			break loop
		case req := <-d.reloads:
			req.reply <- d.reload(rctx, &wg, req.reason)
		case req := <-d.loginReqs:
			f, err := d.sessions.begin(rctx, &wg, d.gen.Load().cfg, req.req)
			req.reply <- loginReply{flow: f, err: err}
		case s := <-d.onDemand.starts:
			d.startOnDemand(rctx, &wg, s)
		case <-changes:
			_ = d.reload(rctx, &wg, "config file changed")
		case <-summary.C():
			summary = d.clock.NewTimer(summaryEvery)
			d.logSummary()
			d.sessions.warnEnds(d.clock.Now())
		case <-d.logs.wake:
			d.logs.arm()
		case <-d.logs.C():
			d.logs.fire()
		}
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		d.log.Warn("shutdown: in-flight requests cut off", "error", serr)
		_ = srv.Close()
	}
	cancel()
	wg.Wait()
	d.flushLogs()
	return err
}

// checkSleep is told every clock.SleepCheck whether the machine resumed
// from sleep; if so, every refresher and session whose refresh point
// passed meanwhile renews now (spread over refresh.ResumeSpread), rather
// than when its timer, which did not count the sleep, fires.
func (d *Daemon) checkSleep(resumed bool) {
	if resumed {
		d.log.Info("the machine resumed from sleep: renewing what fell due meanwhile")
		d.sched.Resumed()
	}
}

// serve serves one listener (hop-limited; its connections tagged with it).
func (d *Daemon) serve(sv *serving, l *listener) {
	l.Listener = hopLimited(l.Listener, sv.hops)
	d.log.Info("listening", "addr", l.Addr().String())
	sv.wg.Go(func() {
		err := sv.srv.Serve(l)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !l.closed.Load() {
			select {
			case sv.errc <- fmt.Errorf("serving on %s: %w", l.Addr(), err):
			default:
			}
		}
	})
}

// openListeners opens the listeners that cfg adds to those in force; on
// any failure it closes what it opened and says which entry failed.
func (d *Daemon) openListeners(cfg config.Config) (map[string]*listener, error) {
	sv := d.serving
	opened := map[string]*listener{}
	if sv == nil {
		return opened, nil
	}
	for i, e := range cfg.ExtraListen {
		pol, err := policyOf(cfg, e)
		if err != nil {
			return nil, err
		}
		if _, ok := sv.lns[e.Address]; ok {
			continue
		}
		ln, err := listenExtra(e.Address)
		if err != nil {
			for _, l := range opened {
				l.Close()
			}
			return nil, config.Errors{{Key: fmt.Sprintf("extra_listen[%d]", i), Msg: fmt.Sprintf("cannot listen on %s: %v", e.Address, err)}}
		}
		l := &listener{Listener: ln, addr: e.Address, d: d}
		l.policy.Store(pol)
		opened[e.Address] = l
	}
	return opened, nil
}

// applyListeners starts the listeners opened for cfg, gives the others
// their new policy, and closes those cfg no longer has (their open
// connections are refused from now on).
func (d *Daemon) applyListeners(cfg config.Config, opened map[string]*listener) (added, removed []string) {
	sv := d.serving
	if sv == nil {
		return nil, nil
	}
	want := map[string]bool{}
	for _, e := range cfg.ExtraListen {
		want[e.Address] = true
		if l, ok := opened[e.Address]; ok {
			sv.lns[e.Address] = l
			d.serve(sv, l)
			added = append(added, e.Address)
			continue
		}
		pol, _ := policyOf(cfg, e)
		sv.lns[e.Address].policy.Store(pol)
	}
	for addr, l := range sv.lns {
		if want[addr] {
			continue
		}
		l.policy.Store(&listenPolicy{removed: true})
		l.closed.Store(true)
		l.Close()
		delete(sv.lns, addr)
		removed = append(removed, addr)
	}
	return added, removed
}

// startEntries puts the refreshers of g's entries that are not on the
// scheduler yet on it.
func (d *Daemon) startEntries(g *generation) {
	for _, e := range g.entries {
		if e.started {
			continue
		}
		e.started = true
		e.r.Start(d.sched)
	}
}

// reload reads the configuration again and swaps in the next generation:
// unchanged profiles keep their refresher (and its cached credentials),
// changed ones get a new one, removed ones stop. On any error the
// generation in force stays.
func (d *Daemon) reload(ctx context.Context, wg *sync.WaitGroup, reason string) error {
	if d.deps.LoadConfig == nil {
		return errors.New("this daemon was started without a config loader; restart it to apply changes")
	}
	cfg, err := d.deps.LoadConfig()
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil {
		err = checkAWSFiles(cfg, d.deps)
	}
	if err != nil {
		d.log.Error("reload refused: the configuration in force stays", "reason", reason, "error", err)
		return fmt.Errorf("reload refused, the configuration in force stays: %w", err)
	}
	shared := readShared(d.deps) // once: the login sessions and the generation
	cfg = adoptLoginSessions(cfg, shared)
	old := d.gen.Load()
	restart := keepStartOnly(old.cfg, &cfg) // the values in force stay until a restart
	users, uerr := resolveUsers(cfg.AllowUsers, d.self)
	clients, cerr := loadClients(cfg.StateDir, cfg)
	if err := errors.Join(uerr, cerr); err != nil {
		d.log.Error("reload refused: the configuration in force stays", "reason", reason, "error", err)
		return fmt.Errorf("reload refused, the configuration in force stays: %w", err)
	}
	opened, err := d.openListeners(cfg)
	if err != nil {
		d.log.Error("reload refused: the configuration in force stays", "reason", reason, "error", err)
		return fmt.Errorf("reload refused, the configuration in force stays: %w", err)
	}
	d.users.Store(users)
	d.clientsMu.Lock()
	if fresh, err := loadClients(cfg.StateDir, cfg); err == nil {
		clients = fresh // read again under the lock: a revoke may have come between
	}
	d.handler.SetClients(clients)
	d.clientsMu.Unlock()
	lnAdded, lnRemoved := d.applyListeners(cfg, opened)
	d.configureOnDemand(cfg)
	d.sessions.sync(ctx, cfg)
	d.sessions.start(d.sched)
	g := d.buildGeneration(ctx, cfg, old, shared)
	d.startEntries(g)
	d.gen.Store(g)
	d.handler.SetDefaultsFunc(g.defaultProfile, g.region)
	d.handler.SetHosts(cfg.Addresses())
	var kept, added, removed []string
	for name, e := range old.entries {
		if g.entries[name] == e {
			kept = append(kept, name)
			continue
		}
		removed = append(removed, name)
		e.r.Stop()
	}
	for name, e := range g.entries {
		if old.entries[name] != e {
			added = append(added, name)
		}
	}
	for _, names := range [][]string{kept, added, removed} {
		slices.SortFunc(names, compareNatural)
	}
	d.log.Info("reloaded", "reason", reason, "kept", kept, "new_or_changed", added, "stopped", removed)
	if len(lnAdded)+len(lnRemoved) > 0 {
		d.log.Info("reload: listeners changed", "opened", lnAdded, "closed", lnRemoved)
	}
	if len(restart) > 0 {
		d.log.Warn("reload: not applied until credd restarts", "keys", restart)
	}
	return nil
}

// Listen opens the configured listeners: listen, then extra_listen.
func Listen(cfg config.Config) ([]net.Listener, error) {
	var out []net.Listener
	for i, addr := range cfg.Addresses() {
		listen := listenExtra
		if i == 0 {
			listen = func(a string) (net.Listener, error) { return net.Listen("tcp", a) }
		}
		ln, err := listen(addr)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, fmt.Errorf("listening on %s: %w (is another credd running? `credd status` tells; or change listen in the config)", addr, err)
		}
		out = append(out, ln)
	}
	return out, nil
}
