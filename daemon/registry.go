package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
	"github.com/credd/credd/mfa"
	"github.com/credd/credd/private"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/store"
)

// SessionStore is where sign-in sessions persist. The daemon reads every
// entry at start, lists them in status and metrics, and deletes them on
// logout.
type SessionStore = store.Store

// Notifier shows a desktop notification where the OS offers one.
type Notifier interface {
	Notify(title, message string)
}

// session is one configured sign-in session (an identity_providers or
// sso_sessions entry) and its protocol.
type session struct {
	sess *login.Session
	oidc *login.OIDC // nil for Identity Center
	sso  *login.SSO  // nil for OpenID Connect
	// aws is an AWS Sign-In (`aws login`) session's method; nil for the
	// others.
	aws  *login.SignIn
	key  string // config hash: a changed entry gets a new session
	flow string // configured flow: browser or device
	hint string // the command that signs it in
	// noSecret names client_secret_env when that variable is empty.
	noSecret string
	// started: its background renewal is on the daemon's scheduler.
	started bool
}

// storedSession is one entry of the session store as status and metrics
// list it.
type storedSession struct {
	name    string
	kind    string
	expires time.Time
}

// sessionEnvelope is the part of a stored session every kind shares.
type sessionEnvelope struct {
	Kind      string    `json:"kind"`
	ExpiresAt time.Time `json:"expires_at"`
}

// sessionDeps are what the registry makes sessions with.
type sessionDeps struct {
	Store   SessionStore // nil: sessions live in memory only
	Clock   clock.Clock
	Logger  *slog.Logger
	HTTP    *http.Client
	Secret  func(envName string) string // nil: no client secrets
	HomeDir string                      // for the AWS CLI's SSO cache; empty: no sharing
	// LoginCacheDir is AWS_LOGIN_CACHE_DIRECTORY (else the login cache is
	// under HomeDir).
	LoginCacheDir string
	Notifier      Notifier // nil: none
	// OnChange runs after a session signed in, renewed, or needs a
	// sign-in, outside the registry's lock.
	OnChange func(*login.Session)
	// OnFlow, if set, runs for every flow begin starts (not one it
	// joins), outside the registry's lock; the flow's goroutines belong
	// to wg.
	OnFlow func(wg *sync.WaitGroup, f *login.Flow)
}

// sessionRegistry holds the sign-in sessions: the configured ones, which
// outlive reloads (a config change that leaves an entry alone keeps its
// session), the sign-in flows under way and the clients waiting on them,
// and the listing of the session store. It owns its lock; the daemon only
// wires it to the control API, the refreshers and the watchers.
type sessionRegistry struct {
	deps  sessionDeps
	log   *slog.Logger
	clock clock.Clock

	mu       sync.Mutex
	byName   map[string]*session // "oidc/okta", "sso/corp"
	flows    map[string]*login.Flow
	notified map[string]bool      // session -> told the user a sign-in is needed
	warned   map[string]time.Time // session -> the end already warned of
	caches   *cacheWatch          // nil until the daemon follows the AWS CLI's cache
	waiters  map[string]*waiter   // ticket -> a client waiting on a flow
	stored   []storedSession      // the store's entries, in natural order
	problems []string             // store entries that could not be read
	// mfa holds the MFA sessions by store key ("mfa/AKIA…/device-…"):
	// one per pair of IAM user keys and MFA device, shared by every
	// profile resting on them (mfa.go). Like sign-in sessions they are
	// kept in the store, listed in status and forgotten by logout.
	mfa map[string]*mfa.Session
	// mfaProfile is a profile resting on each MFA session, for the
	// command a warning names.
	mfaProfile map[string]string
	// fetchTimeout is refresh.fetch_timeout of the configuration sync
	// last saw; it bounds each renewal of the sessions made then.
	fetchTimeout time.Duration
}

func newSessionRegistry(deps sessionDeps) *sessionRegistry {
	r := &sessionRegistry{deps: deps, log: deps.Logger, clock: clock.Or(deps.Clock),
		byName: map[string]*session{}, flows: map[string]*login.Flow{}, notified: map[string]bool{},
		warned: map[string]time.Time{}, waiters: map[string]*waiter{}, mfa: map[string]*mfa.Session{}, mfaProfile: map[string]string{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// waiter is one client (a `credd login`) waiting on a flow. Each join gets
// its own ticket, used as the ID it polls and cancels with, so the daemon
// knows who is still waiting: a client is alive while one of its polls is
// under way or ended moments ago (the CLI polls back to back).
type waiter struct {
	flow     *login.Flow
	inflight int
	last     time.Time
}

// waiterGrace is how long after its last poll a client still counts as
// waiting.
const waiterGrace = 2 * time.Second

func (w *waiter) alive(now time.Time) bool {
	return w.inflight > 0 || now.Sub(w.last) < waiterGrace
}

// warnAhead is how long before a session's end the user is told once.
const warnAhead = time.Hour

func oidcKey(name string) string { return "oidc/" + name }

func ssoKey(name string) string { return "sso/" + name }

func hashOf(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// get is the configured session named key ("sso/corp"), or nil.
func (r *sessionRegistry) get(key string) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byName[key]
}

// configured lists the configured sessions' names, sorted.
func (r *sessionRegistry) configured() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.byName))
}

// names lists the sessions the registry knows: configured, and stored.
func (r *sessionRegistry) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := slices.Collect(maps.Keys(r.byName))
	names = slices.AppendSeq(names, maps.Keys(r.mfa))
	for _, x := range r.stored {
		names = append(names, x.name)
	}
	slices.SortFunc(names, compareNatural)
	return slices.Compact(names)
}

// sync makes a session for each identity provider and sso session of cfg,
// keeping the existing ones whose configuration is unchanged; the renewal
// of those replaced or removed ends.
func (r *sessionRegistry) sync(ctx context.Context, cfg config.Config) {
	var ended []*session
	defer func() {
		for _, s := range ended {
			s.sess.Stop() // outside the lock: its last step may report a change
		}
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetchTimeout = cfg.Refresh.FetchTimeout.Duration
	next := map[string]*session{}
	for name, p := range cfg.IdentityProviders {
		key := hashOf(p)
		k := oidcKey(name)
		if old, ok := r.byName[k]; ok && old.key == key {
			next[k] = old
			continue
		}
		var secret, missing string
		if p.ClientSecretEnv != "" && r.deps.Secret != nil {
			if secret = r.deps.Secret(p.ClientSecretEnv); secret == "" {
				missing = p.ClientSecretEnv
				r.log.Warn("the client secret's variable is empty or unset in credd's environment; sign-ins will fail", "provider", name, "client_secret_env", missing)
			}
		}
		m := &login.OIDC{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret, Scopes: p.Scopes, HTTPClient: r.deps.HTTP,
			Clock: r.deps.Clock}
		hint := "credd login --provider " + name
		next[k] = &session{sess: r.newSession(ctx, k, m, hint), oidc: m, key: key, flow: p.Flow, hint: hint, noSecret: missing}
	}
	for name, c := range cfg.SSOSessions {
		key := hashOf(c)
		k := ssoKey(name)
		if old, ok := r.byName[k]; ok && old.key == key {
			next[k] = old
			continue
		}
		m := &login.SSO{StartURL: c.StartURL, Region: c.Region, Endpoint: c.Endpoint, Scopes: c.Scopes, HTTPClient: r.deps.HTTP,
			Clock: r.deps.Clock}
		if (c.ShareAWSCLICache == nil || *c.ShareAWSCLICache) && r.deps.HomeDir != "" {
			m.CacheFile = login.AWSCLICacheFile(r.deps.HomeDir, name)
		}
		hint := "credd login --sso-session " + name
		sess := r.newSession(ctx, k, m, hint)
		// A stored session's client registration is reused, and a later
		// `aws sso login` left in the shared cache is taken.
		m.Restore(ctx, sess)
		next[k] = &session{sess: sess, sso: m, key: key, flow: c.Flow, hint: hint}
	}
	r.syncSignIns(ctx, cfg, next)
	for k, old := range r.byName {
		if next[k] != old && old.started {
			ended = append(ended, old) // replaced or removed: its renewal ends
		}
	}
	r.byName = next
	r.watchCacheDirsLocked()
}

// newSession makes the session of one identity_providers or sso_sessions
// entry, kept in the session store and reported to OnChange.
func (r *sessionRegistry) newSession(ctx context.Context, key string, m login.Method, hint string) *login.Session {
	return login.New(ctx, key, m, login.Options{
		Store: r.deps.Store, Clock: r.deps.Clock, Logger: r.log.With("component", "login"),
		LoginHint: hint, OnChange: r.deps.OnChange, FetchTimeout: r.fetchTimeout,
	})
}

// start puts the background renewal of every session not there yet on
// sched. It ends with sched's Run, or when sync replaces or removes the
// session.
func (r *sessionRegistry) start(sched *refresh.Scheduler) {
	r.mu.Lock()
	var fresh []*session
	for _, s := range r.byName {
		if !s.started {
			s.started = true
			fresh = append(fresh, s)
		}
	}
	r.mu.Unlock()
	for _, s := range fresh {
		s.sess.Start(sched) // outside the lock: its first step may report a change
	}
}

// warnEnds notifies once per session end when a session that will need a
// new sign-in ends within warnAhead.
func (r *sessionRegistry) warnEnds(now time.Time) {
	r.mu.Lock()
	var due []*session
	for key, s := range r.byName {
		end := s.sess.Ends()
		if end.IsZero() || end.Sub(now) > warnAhead || !end.After(now) || r.warned[key].Equal(end) {
			continue
		}
		r.warned[key] = end
		due = append(due, s)
	}
	type mfaDue struct {
		name, profile string
		end           time.Time
	}
	var mfaDues []mfaDue
	for key, m := range r.mfa {
		end := m.Expiry()
		if end.IsZero() || end.Sub(now) > warnAhead || !end.After(now) || r.warned[key].Equal(end) {
			continue
		}
		r.warned[key] = end
		mfaDues = append(mfaDues, mfaDue{key, r.mfaProfile[key], end})
	}
	r.mu.Unlock()
	for _, m := range mfaDues {
		msg := fmt.Sprintf("the MFA session of %s ends at %s (in %s): run `credd login --profile %s` with a new code before then", m.profile,
			m.end.Local().Format("15:04"), m.end.Sub(now).Round(time.Minute), m.profile)
		r.log.Warn("MFA session ends soon", "session", m.name, "ends", m.end.UTC().Format(time.RFC3339))
		if r.deps.Notifier != nil {
			r.deps.Notifier.Notify("credd: MFA session ends soon", msg)
		}
	}
	for _, s := range due {
		end := s.sess.Ends()
		msg := fmt.Sprintf("%s ends at %s (in %s): sign in again before then with `%s`", s.sess.Name(),
			end.Local().Format("15:04"), end.Sub(now).Round(time.Minute), s.hint)
		r.log.Warn("session ends soon", "session", s.sess.Name(), "ends", end.UTC().Format(time.RFC3339))
		if r.deps.Notifier != nil {
			r.deps.Notifier.Notify("credd: sign-in ends soon", msg)
		}
	}
}

// changed records a session's change in the listing, and reports why it
// needs a sign-in (nil: it does not) and whether that is news to tell
// the user.
func (r *sessionRegistry) changed(s *login.Session) (need error, first bool) {
	r.note(s.Name(), s.Expiry())
	need = s.NeedsLogin()
	r.mu.Lock()
	defer r.mu.Unlock()
	first = need != nil && !r.notified[s.Name()]
	r.notified[s.Name()] = need != nil
	return need, first
}

// resolve finds the session a login request means; profiles of cfg name
// theirs.
func (r *sessionRegistry) resolve(cfg config.Config, req control.LoginRequest) (*session, error) {
	var key string
	switch {
	case req.Provider != "":
		key = oidcKey(req.Provider)
	case req.SSOSession != "":
		key = ssoKey(req.SSOSession)
	case req.Profile != "":
		p, ok := cfg.Profiles[req.Profile]
		if !ok {
			return nil, cred.Errorf(cred.ErrUnknownProfile, "no profile %q", req.Profile)
		}
		switch {
		case p.IdentityProvider != "":
			key = oidcKey(p.IdentityProvider)
		case p.SSOSession != "":
			key = ssoKey(p.SSOSession)
		case p.LoginSession != "":
			key = signinKey(p.LoginSession)
		default:
			return nil, cred.Errorf(cred.ErrInvalid, "profile %s signs in through no credd session (it is %s); nothing to do", req.Profile, p.Source())
		}
	case req.SignIn:
		k, err := onlySignIn(cfg)
		if err != nil {
			return nil, err
		}
		key = k
	default:
		names := r.configured()
		switch len(names) {
		case 0:
			return nil, cred.Errorf(cred.ErrInvalid, "no sign-in sessions are configured: add identity_providers or sso_sessions to the config (docs/signin.md); profiles of ~/.aws/config sign in with `aws sso login`")
		case 1:
		default:
			return nil, cred.Errorf(cred.ErrInvalid, "say which session to sign in to (--provider, --sso-session or --profile); configured: %s", strings.Join(names, ", "))
		}
		key = names[0]
	}
	s := r.get(key)
	if s == nil {
		return nil, cred.Errorf(cred.ErrUnknownSession, "no sign-in session %s is configured (see sso_sessions and identity_providers in the configuration)", key)
	}
	if req.SignIn && s.aws == nil {
		return nil, cred.Errorf(cred.ErrInvalid, "profile %s signs in through %s, not AWS Sign-In: drop --signin", req.Profile, key)
	}
	return s, nil
}

// begin starts (or joins) the sign-in flow of the session req means. The
// flow's goroutine belongs to wg and ends with ctx.
func (r *sessionRegistry) begin(ctx context.Context, wg *sync.WaitGroup, cfg config.Config, req control.LoginRequest) (*login.Flow, error) {
	s, err := r.resolve(cfg, req)
	if err != nil {
		return nil, err
	}
	if s.noSecret != "" {
		return nil, cred.Errorf(cred.ErrInvalid,
			"%s: client_secret_env names %s, which is empty or unset in the environment credd runs in (the daemon's, not this shell's): set it there and restart credd (for the service, see docs/signin.md)",
			s.sess.Name(), s.noSecret)
	}
	if req.Remote && s.aws == nil {
		return nil, cred.Errorf(cred.ErrInvalid, "%s: %v", s.sess.Name(), login.ErrNoRemote)
	}
	f, _, err := r.beginFlow(ctx, wg, s, login.FlowOptions{Device: req.Device || s.flow == "device", Remote: req.Remote})
	if err != nil {
		return nil, err // the control API answers 502 LoginFailed
	}
	if req.Remote && !f.Remote {
		// One flow per session: a cross-device sign-in asked for while a
		// browser one waits would quietly become the browser one. (A
		// plain request joins a cross-device one: the CLI asks for the
		// code.)
		return nil, cred.Errorf(cred.ErrConflict,
			"a browser sign-in to %s is under way (until %s): finish it in the browser, or press Ctrl-C where it was started, then run `%s --remote`",
			f.Session, f.Expires.Local().Format("15:04"), s.hint)
	}
	if req.Device && !f.Device {
		// One flow per session: a device sign-in asked for while a
		// browser one waits would quietly become the browser one.
		return nil, cred.Errorf(cred.ErrConflict,
			"a browser sign-in to %s is under way (until %s): finish it in the browser, or press Ctrl-C where it was started, then run `%s --device`",
			f.Session, f.Expires.Local().Format("15:04"), s.hint)
	}
	return f, nil
}

// beginFlow starts a session's sign-in, or joins the one under way (fresh
// is false then). A fresh flow is registered and handed to OnFlow.
func (r *sessionRegistry) beginFlow(ctx context.Context, wg *sync.WaitGroup, s *session, o login.FlowOptions) (f *login.Flow, fresh bool, err error) {
	f, err = s.sess.Begin(ctx, wg, o)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	_, known := r.flows[f.ID]
	r.flows[f.ID] = f
	r.mu.Unlock()
	if !known && r.deps.OnFlow != nil {
		r.deps.OnFlow(wg, f)
	}
	return f, !known, nil
}

// join registers a client waiting on f and returns its ticket. Tickets of
// flows that ended a while ago are dropped.
func (r *sessionRegistry) join(f *login.Flow) string {
	now := r.clock.Now()
	ticket := f.ID + "." + randomID()
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, w := range r.waiters {
		select {
		case <-w.flow.Done():
			if now.Sub(w.last) > time.Minute {
				delete(r.waiters, t)
			}
		default:
		}
	}
	r.waiters[ticket] = &waiter{flow: f, last: now}
	return ticket
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// flow finds a flow by a client's ticket (or the flow's own ID), and the
// client's waiter if it is a ticket.
func (r *sessionRegistry) flow(id string) (*login.Flow, *waiter, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.waiters[id]; ok {
		return w.flow, w, nil
	}
	f, ok := r.flows[id]
	if i := strings.LastIndexByte(id, '.'); !ok && i > 0 {
		f, ok = r.flows[id[:i]] // a ticket that left: its flow
	}
	if !ok {
		return nil, nil, cred.Errorf(cred.ErrUnknownSession, "no sign-in %s", id)
	}
	return f, nil, nil
}

// polling marks a poll of w under way; the function it returns ends it.
func (r *sessionRegistry) polling(w *waiter) (done func()) {
	r.mu.Lock()
	w.inflight++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		w.inflight--
		w.last = r.clock.Now()
		r.mu.Unlock()
	}
}

// leave removes the client with ticket id from flow f and counts the
// other clients still waiting on f.
func (r *sessionRegistry) leave(id string, f *login.Flow) (others int) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiters, id)
	for _, w := range r.waiters {
		if w.flow == f && w.alive(now) {
			others++
		}
	}
	return others
}

// load reads every stored session into the listing. An entry that cannot
// be read or parsed is reported (status, log) and skipped; it never stops
// the daemon.
func (r *sessionRegistry) load(ctx context.Context) {
	st := r.deps.Store
	if st == nil {
		return
	}
	entries, problems := store.LoadAll(ctx, st)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stored, r.problems = nil, nil
	for _, err := range problems {
		r.problems = append(r.problems, err.Error())
		r.log.Warn("stored session skipped", "error", err)
	}
	for k, raw := range entries {
		var env sessionEnvelope
		if err := json.Unmarshal(raw, &env); err != nil {
			r.problems = append(r.problems, fmt.Sprintf("session %s skipped: not a credd session (%v)", k, err))
			r.log.Warn("stored session skipped", "session", k, "error", err)
			continue
		}
		r.stored = append(r.stored, storedSession{name: k, kind: env.Kind, expires: env.ExpiresAt})
	}
	slices.SortFunc(r.stored, func(a, b storedSession) int { return compareNatural(a.name, b.name) })
	r.log.Info("sessions loaded", "store", st.Kind(), "sessions", len(r.stored), "problems", len(r.problems))
}

// note updates one session's row of the listing after a sign-in, renewal
// or logout (a zero expiry: gone), without reading the store again.
func (r *sessionRegistry) note(name string, expires time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.stored {
		if x.name != name {
			continue
		}
		if expires.IsZero() {
			r.stored = append(r.stored[:i], r.stored[i+1:]...)
		} else {
			r.stored[i].expires = expires
		}
		return
	}
	if expires.IsZero() {
		return
	}
	kind, _, _ := strings.Cut(name, "/") // "oidc/okta", "sso/corp"
	r.stored = append(r.stored, storedSession{name: name, kind: kind, expires: expires})
	slices.SortFunc(r.stored, func(a, b storedSession) int { return compareNatural(a.name, b.name) })
}

// status lists the store and its sessions, each with its state.
func (r *sessionRegistry) status() (control.StoreStatus, []control.SessionStatus) {
	st := control.StoreStatus{Kind: "none"}
	out := []control.SessionStatus{}
	if r.deps.Store == nil {
		return st, out
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st.Kind, st.Problems = r.deps.Store.Kind(), append([]string(nil), r.problems...)
	for _, x := range r.stored {
		ss := control.SessionStatus{Name: x.name, Kind: x.kind, State: "stored", Expires: timePtr(x.expires)}
		if s := r.byName[x.name]; s != nil {
			ss.State = "signed-in"
			if err := s.sess.NeedsLogin(); err != nil {
				ss.State, ss.Error, ss.Login = "login-required", err.Error(), s.hint
			}
		}
		if m := r.mfa[x.name]; m != nil {
			profile := r.mfaProfile[x.name]
			if ss.State, ss.Error = mfaState(m, profile); ss.State == "mfa-required" && profile != "" {
				ss.Login = "credd login --profile " + profile
			}
		}
		out = append(out, ss)
	}
	return st, out
}

// logout forgets the named session, or every session when name is empty:
// in memory, at the provider where it signs out (Identity Center), and in
// the store. It returns the names forgotten.
func (r *sessionRegistry) logout(ctx context.Context, name string) ([]string, error) {
	st := r.deps.Store
	if st == nil {
		return nil, nil
	}
	if name != "" {
		var err error
		if name, err = storedName(name, r.names()); err != nil {
			return nil, err
		}
	}
	// Configured sessions forget their tokens in memory and in the store.
	r.mu.Lock()
	var live []*session
	for k, s := range r.byName {
		if name == "" || k == name {
			live = append(live, s)
			r.notified[k] = true // a logout is no reason to notify
		}
	}
	r.mu.Unlock()
	// MFA sessions are forgotten in memory and in the store; their
	// profiles stop serving what they gave (mfaChanged).
	removed, err := r.forgetMFA(ctx, name)
	if err != nil {
		return removed, err
	}
	for _, s := range live {
		if s.sess.Expiry().IsZero() {
			continue // not signed in
		}
		forget := s.sess.Forget
		if s.sso != nil {
			// Identity Center: sign out at the portal and remove what credd
			// wrote to the AWS CLI's cache, then forget.
			forget = func(ctx context.Context) error { return s.sso.Logout(ctx, s.sess) }
		}
		if s.aws != nil {
			// AWS Sign-In: remove the AWS CLI's login cache file when it
			// holds this session (as `aws logout` does), then forget.
			forget = func(ctx context.Context) error { return s.aws.Logout(ctx, s.sess) }
		}
		if err := forget(ctx); err != nil {
			return nil, fmt.Errorf("forgetting session %s: %w", s.sess.Name(), err)
		}
		removed = append(removed, s.sess.Name())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var keep []storedSession
	for _, x := range r.stored {
		if name != "" && x.name != name {
			keep = append(keep, x)
			continue
		}
		if err := st.Delete(ctx, x.name); err != nil {
			return removed, fmt.Errorf("forgetting session %s: %w", x.name, err)
		}
		removed = append(removed, x.name)
	}
	r.stored = keep
	slices.SortFunc(removed, compareNatural)
	removed = slices.Compact(removed)
	if name != "" && len(removed) == 0 {
		return nil, cred.Errorf(cred.ErrUnknownSession, "no sign-in session %q", name)
	}
	r.log.Info("logged out", "sessions", removed)
	return removed, nil
}

// storedName is the name a session is kept under ("sso/corp") for name as
// a user writes it: that name, or the configuration's name for it
// ("corp", the sso_sessions or identity_providers entry) when only one
// known session has it.
func storedName(name string, known []string) (string, error) {
	if strings.Contains(name, "/") || slices.Contains(known, name) {
		return name, nil
	}
	var matches []string
	for _, k := range known {
		if _, n, _ := strings.Cut(k, "/"); n == name {
			matches = append(matches, k)
		}
	}
	switch len(matches) {
	case 0:
		return name, nil // the caller says there is no such session
	case 1:
		return matches[0], nil
	}
	return "", cred.Errorf(cred.ErrInvalid, "%q names sessions %s: name one of them", name, strings.Join(matches, " and "))
}

var sessionExpiryDesc = prometheus.NewDesc("credd_session_expiry_timestamp_seconds",
	"When each sign-in session expires (Unix time).", []string{"session"}, nil)

func (r *sessionRegistry) collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.stored {
		if !x.expires.IsZero() {
			ch <- prometheus.MustNewConstMetric(sessionExpiryDesc, prometheus.GaugeValue, float64(x.expires.Unix()), x.name)
		}
	}
}

// cacheWatch follows the AWS CLI's SSO token cache directories of the
// sso sessions that share it.
type cacheWatch struct {
	w    watcher
	dirs map[string]bool // watched
}

// watcher is the part of fsnotify.Watcher the cache watch uses.
type watcher interface {
	Add(name string) error
}

// followCaches makes w watch the cache directory of every session sharing
// the AWS CLI's cache, now and after every sync; nil stops that.
func (r *sessionRegistry) followCaches(w watcher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w == nil {
		r.caches = nil
		return
	}
	r.caches = &cacheWatch{w: w, dirs: map[string]bool{}}
	r.watchCacheDirsLocked()
}

// watchCacheDirsLocked adds the cache directory of every session sharing
// the AWS CLI's cache to the watch, creating it as the CLI does (0700).
// Called with r.mu held, after the sessions change.
func (r *sessionRegistry) watchCacheDirsLocked() {
	c := r.caches
	if c == nil {
		return
	}
	for _, s := range r.byName {
		file := s.cacheFile()
		if file == "" {
			continue
		}
		dir := filepath.Dir(file)
		if c.dirs[dir] {
			continue
		}
		err := private.MkdirAll(dir)
		if err == nil {
			err = c.w.Add(dir)
		}
		if err != nil {
			r.log.Warn("not following the AWS CLI's SSO cache; after `aws sso login`, run `credd reload`", "dir", dir, "error", err)
			continue
		}
		c.dirs[dir] = true
	}
}

// followCache offers a changed cache file to the sessions sharing it.
func (r *sessionRegistry) followCache(ctx context.Context, file string) {
	r.mu.Lock()
	var sharing []*session
	for _, s := range r.byName {
		if f := s.cacheFile(); f != "" && filepath.Clean(f) == file {
			sharing = append(sharing, s)
		}
	}
	r.mu.Unlock()
	for _, s := range sharing {
		if s.sso != nil {
			s.sso.Follow(ctx, s.sess)
		}
		if s.aws != nil {
			s.aws.Follow(ctx, s.sess)
		}
	}
}

// cacheFile is the AWS CLI cache file a session shares, or "".
func (s *session) cacheFile() string {
	switch {
	case s.sso != nil:
		return s.sso.CacheFile
	case s.aws != nil && s.aws.CacheDir != "":
		return login.LoginCacheFile(s.aws.CacheDir, s.aws.Session)
	}
	return ""
}
