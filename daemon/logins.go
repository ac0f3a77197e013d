package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/smithy-go"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/source"
)

// Notifier shows a desktop notification where the OS offers one.
type Notifier interface {
	Notify(title, message string)
}

// signin is one configured sign-in session and its protocol.
type signin struct {
	sess *login.Session
	oidc *login.OIDC // nil for Identity Center
	sso  *login.SSO  // nil for OpenID Connect
	key  string      // config hash: a changed entry gets a new session
	flow string      // configured flow: browser or device
	hint string      // the command that signs it in
	// noSecret names client_secret_env when that variable is empty.
	noSecret string
	// stop ends the session's background renewal (Session.Run); nil
	// until the daemon's Run starts it.
	stop context.CancelFunc
}

// logins holds the sign-in sessions. They outlive reloads (a config change
// that leaves an entry alone keeps its session), and the flows under way.
type logins struct {
	mu       sync.Mutex
	byName   map[string]*signin // "oidc/okta"
	flows    map[string]*login.Flow
	notified map[string]bool
	warned   map[string]time.Time // session -> the end already warned of
	caches   *cacheWatch          // nil until Run starts following the AWS CLI's cache
	waiters  map[string]*waiter   // ticket -> a client waiting on a flow
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

// warnSessionEnds notifies once per session end when a session that will
// need a new sign-in ends within warnAhead.
func (d *Daemon) warnSessionEnds(now time.Time) {
	d.logins.mu.Lock()
	var due []*signin
	for key, si := range d.logins.byName {
		end := si.sess.Ends()
		if end.IsZero() || end.Sub(now) > warnAhead || !end.After(now) || d.logins.warned[key].Equal(end) {
			continue
		}
		d.logins.warned[key] = end
		due = append(due, si)
	}
	d.logins.mu.Unlock()
	for _, si := range due {
		end := si.sess.Ends()
		msg := fmt.Sprintf("%s ends at %s (in %s): sign in again before then with `%s`", si.sess.Name(),
			end.Local().Format("15:04"), end.Sub(now).Round(time.Minute), si.hint)
		d.log.Warn("session ends soon", "session", si.sess.Name(), "ends", end.UTC().Format(time.RFC3339))
		if d.deps.Notifier != nil {
			d.deps.Notifier.Notify("credd: sign-in ends soon", msg)
		}
	}
}

func oidcKey(name string) string { return "oidc/" + name }

// syncLogins makes a session for each identity provider and sso session of cfg, keeping
// the existing ones whose configuration is unchanged.
func (d *Daemon) syncLogins(ctx context.Context, cfg config.Config) {
	l := d.logins
	l.mu.Lock()
	defer l.mu.Unlock()
	next := map[string]*signin{}
	for name, p := range cfg.IdentityProviders {
		key := hashOf(p)
		k := oidcKey(name)
		if old, ok := l.byName[k]; ok && old.key == key {
			next[k] = old
			continue
		}
		var secret, missing string
		if p.ClientSecretEnv != "" && d.deps.Secret != nil {
			if secret = d.deps.Secret(p.ClientSecretEnv); secret == "" {
				missing = p.ClientSecretEnv
				d.log.Warn("the client secret's variable is empty or unset in credd's environment; sign-ins will fail", "provider", name, "client_secret_env", missing)
			}
		}
		m := &login.OIDC{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret, Scopes: p.Scopes, HTTPClient: d.http}
		hint := "credd login --provider " + name
		next[k] = &signin{sess: d.newSession(ctx, k, m, hint), oidc: m, key: key, flow: p.Flow, hint: hint, noSecret: missing}
	}
	for name, c := range cfg.SSOSessions {
		key := hashOf(c)
		k := ssoKey(name)
		if old, ok := l.byName[k]; ok && old.key == key {
			next[k] = old
			continue
		}
		m := &login.SSO{StartURL: c.StartURL, Region: c.Region, Endpoint: c.Endpoint, Scopes: c.Scopes, HTTPClient: d.http,
			Clock: d.deps.Clock}
		if (c.ShareAWSCLICache == nil || *c.ShareAWSCLICache) && d.deps.HomeDir != "" {
			m.CacheFile = login.AWSCLICacheFile(d.deps.HomeDir, name)
		}
		hint := "credd login --sso-session " + name
		sess := d.newSession(ctx, k, m, hint)
		// A stored session's client registration is reused, and a later
		// `aws sso login` left in the shared cache is taken.
		m.Restore(ctx, sess)
		next[k] = &signin{sess: sess, sso: m, key: key, flow: c.Flow, hint: hint}
	}
	for k, old := range l.byName {
		if next[k] != old && old.stop != nil {
			old.stop() // replaced or removed: its renewal ends
		}
	}
	l.byName = next
	d.watchCacheDirsLocked()
}

// startSessions starts the background renewal of every session that has
// none running yet. The goroutines belong to wg and end with ctx, or when
// syncLogins replaces or removes their session.
func (d *Daemon) startSessions(ctx context.Context, wg *sync.WaitGroup) {
	d.logins.mu.Lock()
	defer d.logins.mu.Unlock()
	for _, si := range d.logins.byName {
		if si.stop != nil {
			continue
		}
		sctx, stop := context.WithCancel(ctx)
		si.stop = stop
		sess := si.sess
		wg.Go(func() { sess.Run(sctx) })
	}
}

func ssoKey(name string) string { return "sso/" + name }

// newSession makes the session of one identity_providers or sso_sessions
// entry, kept in the session store and reported to sessionChanged.
func (d *Daemon) newSession(ctx context.Context, key string, m login.Method, hint string) *login.Session {
	return login.New(ctx, key, m, login.Options{
		Store: d.deps.Sessions, Clock: d.deps.Clock, Logger: d.log.With("component", "login"),
		LoginHint: hint, OnChange: d.sessionChanged,
	})
}

// accessTokens adapts a signed-in Identity Center session to
// source.AccessTokens.
type accessTokens struct {
	d   *Daemon
	key string
}

func (t accessTokens) AccessToken(ctx context.Context) (string, error) {
	s := t.d.signin(t.key)
	if s == nil {
		return "", fmt.Errorf("no sso session %s is configured", strings.TrimPrefix(t.key, "sso/"))
	}
	tok, err := s.sess.Tokens(ctx)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// Rejected: the portal refused the token; the session needs a sign-in.
func (t accessTokens) Rejected(_ context.Context, accessToken string) {
	if s := t.d.signin(t.key); s != nil {
		s.sess.Reject(accessToken)
	}
}

func hashOf(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (d *Daemon) signin(key string) *signin {
	d.logins.mu.Lock()
	defer d.logins.mu.Unlock()
	return d.logins.byName[key]
}

// idTokens adapts a signed-in OIDC session to source.IDTokens.
type idTokens struct {
	d   *Daemon
	key string
}

func (t idTokens) IDToken(ctx context.Context) (string, map[string]any, error) {
	s := t.d.signin(t.key)
	if s == nil {
		return "", nil, fmt.Errorf("no identity provider %s is configured", strings.TrimPrefix(t.key, "oidc/"))
	}
	tok, err := s.sess.Tokens(ctx)
	if err != nil {
		return "", nil, err
	}
	claims, err := s.oidc.Claims(ctx, tok.IDToken)
	if err != nil {
		return "", nil, err
	}
	return tok.IDToken, claims, nil
}

// sessionChanged runs after a session signed in, renewed, or needs a
// sign-in: it refreshes the session listing, wakes the profiles that use
// it, and notifies the user once when a sign-in is needed.
func (d *Daemon) sessionChanged(s *login.Session) {
	d.sessions.note(s.Name(), s.Expiry())
	need := s.NeedsLogin()
	d.logins.mu.Lock()
	first := need != nil && !d.logins.notified[s.Name()]
	d.logins.notified[s.Name()] = need != nil
	d.logins.mu.Unlock()
	if need == nil {
		// Wake only the profiles waiting on this session; a renewal must
		// not refetch credentials that are fine.
		for _, e := range d.entriesUsing(s.Name()) {
			switch e.r.Status().State {
			case refresh.StateLoginRequired, refresh.StateError:
				e.r.Kick()
			}
		}
		return
	}
	// The session ended or was refused: the credentials it gave are not
	// served any more, however long they would last; every profile of it
	// answers login-required with the command to run.
	for _, e := range d.entriesUsing(s.Name()) {
		e.r.Drop(need)
	}
	if first && d.deps.Notifier != nil {
		d.deps.Notifier.Notify("credd: sign-in required", need.Error())
	}
}

// entriesUsing lists the profiles whose credentials come from a session:
// those that sign in through it, and those whose source_profile chain
// leads to one of them (their role credentials came from the same
// sign-in).
func (d *Daemon) entriesUsing(session string) []*entry {
	g := d.gen.Load()
	var out []*entry
	for name, e := range g.entries {
		if sessionOf(g.cfg, name) == session {
			out = append(out, e)
		}
	}
	return out
}

// sessionOf is the sign-in session a profile's credentials rest on, or "".
func sessionOf(cfg config.Config, name string) string {
	for range len(cfg.Profiles) + 1 { // a validated config has no cycles; bound it anyway
		p, ok := cfg.Profiles[name]
		switch {
		case !ok:
			return ""
		case p.SSOSession != "":
			return ssoKey(p.SSOSession)
		case p.IdentityProvider != "":
			// Web identity, or broker mode (the source profile's
			// credentials with this session's claims as tags).
			return oidcKey(p.IdentityProvider)
		case p.SourceProfile == "":
			return ""
		}
		name = p.SourceProfile
	}
	return ""
}

type loginRequest struct {
	req   control.LoginRequest
	reply chan loginReply
}

type loginReply struct {
	flow *login.Flow
	err  error
}

// resolveSession finds the session a login request means.
func (d *Daemon) resolveSession(req control.LoginRequest) (*signin, string, error) {
	cfg := d.gen.Load().cfg
	var key string
	switch {
	case req.Provider != "":
		key = oidcKey(req.Provider)
	case req.SSOSession != "":
		key = ssoKey(req.SSOSession)
	case req.Profile != "":
		p, ok := cfg.Profiles[req.Profile]
		if !ok {
			return nil, "", cred.Errorf(cred.ErrUnknownProfile, "no profile %q", req.Profile)
		}
		switch {
		case p.IdentityProvider != "":
			key = oidcKey(p.IdentityProvider)
		case p.SSOSession != "":
			key = ssoKey(p.SSOSession)
		default:
			return nil, "", cred.Errorf(cred.ErrInvalid, "profile %s signs in through no credd session (it is %s); nothing to do", req.Profile, p.Source())
		}
	default:
		d.logins.mu.Lock()
		names := slices.Sorted(maps.Keys(d.logins.byName))
		d.logins.mu.Unlock()
		switch len(names) {
		case 0:
			return nil, "", cred.Errorf(cred.ErrInvalid, "no sign-in sessions are configured: add identity_providers or sso_sessions to the config (docs/signin.md); profiles of ~/.aws/config sign in with `aws sso login`")
		case 1:
		default:
			return nil, "", cred.Errorf(cred.ErrInvalid, "say which session to sign in to (--provider, --sso-session or --profile); configured: %s", strings.Join(names, ", "))
		}
		key = names[0]
	}
	s := d.signin(key)
	if s == nil {
		return nil, "", cred.Errorf(cred.ErrUnknownSession, "no sign-in session %s is configured (see sso_sessions and identity_providers in the configuration)", key)
	}
	return s, key, nil
}

// Login starts (or joins) the sign-in of a session.
func (d *Daemon) Login(ctx context.Context, req control.LoginRequest) (control.LoginStart, error) {
	r := loginRequest{req: req, reply: make(chan loginReply, 1)}
	select {
	case d.loginReqs <- r:
	case <-ctx.Done():
		return control.LoginStart{}, ctx.Err()
	}
	var rep loginReply
	select {
	case rep = <-r.reply:
	case <-ctx.Done():
		return control.LoginStart{}, ctx.Err()
	}
	if rep.err != nil {
		return control.LoginStart{}, rep.err
	}
	f := rep.flow
	ticket := d.join(f)
	return control.LoginStart{ID: ticket, Session: f.Session, URL: f.URL, UserCode: f.UserCode, Device: f.Device, Expires: f.Expires.UTC()}, nil
}

// join registers a client waiting on f and returns its ticket. Tickets of
// flows that ended a while ago are dropped.
func (d *Daemon) join(f *login.Flow) string {
	now := d.now()
	ticket := f.ID + "." + randomID()
	d.logins.mu.Lock()
	defer d.logins.mu.Unlock()
	for t, w := range d.logins.waiters {
		select {
		case <-w.flow.Done():
			if now.Sub(w.last) > time.Minute {
				delete(d.logins.waiters, t)
			}
		default:
		}
	}
	d.logins.waiters[ticket] = &waiter{flow: f, last: now}
	return ticket
}

func (d *Daemon) now() time.Time { return clock.Or(d.deps.Clock).Now() }

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// beginLogin runs in the Run loop, which owns flow goroutines.
func (d *Daemon) beginLogin(ctx context.Context, wg *sync.WaitGroup, req control.LoginRequest) (*login.Flow, error) {
	s, _, err := d.resolveSession(req)
	if err != nil {
		return nil, err
	}
	if s.noSecret != "" {
		return nil, cred.Errorf(cred.ErrInvalid,
			"%s: client_secret_env names %s, which is empty or unset in the environment credd runs in (the daemon's, not this shell's): set it there and restart credd (for the service, see docs/signin.md)",
			s.sess.Name(), s.noSecret)
	}
	f, err := s.sess.Begin(ctx, wg, login.FlowOptions{Device: req.Device || s.flow == "device"})
	if err != nil {
		return nil, err // the control API answers 502 LoginFailed
	}
	if req.Device && !f.Device {
		// One flow per session: a device sign-in asked for while a
		// browser one waits would quietly become the browser one.
		return nil, cred.Errorf(cred.ErrConflict,
			"a browser sign-in to %s is under way (until %s): finish it in the browser, or press Ctrl-C where it was started, then run `%s --device`",
			f.Session, f.Expires.Local().Format("15:04"), s.hint)
	}
	d.logins.mu.Lock()
	d.logins.flows[f.ID] = f
	d.logins.mu.Unlock()
	return f, nil
}

// flow finds a flow by a client's ticket (or the flow's own ID), and the
// client's waiter if it is a ticket.
func (d *Daemon) flow(id string) (*login.Flow, *waiter, error) {
	d.logins.mu.Lock()
	defer d.logins.mu.Unlock()
	if w, ok := d.logins.waiters[id]; ok {
		return w.flow, w, nil
	}
	f, ok := d.logins.flows[id]
	if i := strings.LastIndexByte(id, '.'); !ok && i > 0 {
		f, ok = d.logins.flows[id[:i]] // a ticket that left: its flow
	}
	if !ok {
		return nil, nil, cred.Errorf(cred.ErrUnknownSession, "no sign-in %s", id)
	}
	return f, nil, nil
}

// LoginStatus waits up to wait for the flow to end and reports it; after a
// sign-in it fetches the session's profiles and says which are ready.
func (d *Daemon) LoginStatus(ctx context.Context, id string, wait time.Duration) (control.LoginState, error) {
	f, w, err := d.flow(id)
	if err != nil {
		return control.LoginState{}, err
	}
	if w != nil {
		d.logins.mu.Lock()
		w.inflight++
		d.logins.mu.Unlock()
		defer func() {
			d.logins.mu.Lock()
			w.inflight--
			w.last = d.now()
			d.logins.mu.Unlock()
		}()
	}
	st := control.LoginState{ID: id, Session: f.Session, State: "pending"}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-f.Done():
	case <-t.C:
		return st, nil
	case <-ctx.Done():
		return st, nil
	}
	if err := f.Err(); err != nil {
		st.State, st.Error = "failed", err.Error()
		return st, nil
	}
	st.State = "done"
	for _, e := range d.entriesUsing(f.Session) {
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := e.r.Current(fctx)
		cancel()
		if err == nil {
			st.Ready = append(st.Ready, e.r.Profile())
		} else {
			st.NotReady = append(st.NotReady, control.ProfileError{Profile: e.r.Profile(), Error: err.Error()})
		}
	}
	sort.Strings(st.Ready)
	return st, nil
}

// CancelLogin is a CLI client leaving a flow (its Ctrl-C). The flow is
// stopped unless another client still waits on it: one user's Ctrl-C does
// not end the sign-in another terminal waits for, while a client that
// went away without a word (a closed terminal) stops counting once it no
// longer polls.
func (d *Daemon) CancelLogin(_ context.Context, id string) error {
	f, _, err := d.flow(id)
	if err != nil {
		return err
	}
	now := d.now()
	d.logins.mu.Lock()
	delete(d.logins.waiters, id)
	others := 0
	for _, w := range d.logins.waiters {
		if w.flow == f && w.alive(now) {
			others++
		}
	}
	d.logins.mu.Unlock()
	if others > 0 {
		d.log.Info("a client left the sign-in; others still wait for it", "session", f.Session, "waiting", others)
		return nil
	}
	f.Cancel()
	<-f.Done()
	return nil
}

// Assignments lists the accounts and roles an Identity Center session may
// use, with the token the daemon holds (renewed if due): what `credd
// config init --sso-session` turns into profiles. A token the portal
// refuses makes the session login-required, as a refused
// GetRoleCredentials does.
func (d *Daemon) Assignments(ctx context.Context, name string) ([]source.Assignment, error) {
	sc, ok := d.gen.Load().cfg.SSOSessions[name]
	si := d.signin(ssoKey(name))
	if !ok || si == nil {
		return nil, cred.Errorf(cred.ErrUnknownSession, "no such sso session %q (sso_sessions)", name)
	}
	tok, err := si.sess.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("sso session %s: %w", name, err)
	}
	client := sso.NewFromConfig(awsapi.Config{Region: sc.Region, Endpoint: sc.Endpoint, HTTPClient: d.http}.AWS(nil))
	found, err := source.Discover(ctx, client, tok.AccessToken)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnauthorizedException" {
		si.sess.Reject(tok.AccessToken)
		return nil, fmt.Errorf("%w: sso session %s: the portal no longer accepts the session: run `%s`", cred.ErrLoginRequired, name, si.hint)
	}
	if err != nil {
		return nil, fmt.Errorf("listing the accounts and roles of sso session %s: %w", name, err)
	}
	return found, nil
}
