package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/smithy-go"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/source"
)

// This file wires the session registry (registry.go) to the rest of the
// daemon: the sources that take tokens from a session, the refreshers a
// session's change wakes, and the control API's sign-in calls.

// accessTokens adapts a signed-in Identity Center session to
// source.AccessTokens.
type accessTokens struct {
	sessions *sessionRegistry
	key      string
}

func (t accessTokens) AccessToken(ctx context.Context) (string, error) {
	s := t.sessions.get(t.key)
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
	if s := t.sessions.get(t.key); s != nil {
		s.sess.Reject(accessToken)
	}
}

// idTokens adapts a signed-in OIDC session to source.IDTokens.
type idTokens struct {
	sessions *sessionRegistry
	key      string
}

func (t idTokens) IDToken(ctx context.Context) (string, map[string]any, error) {
	s := t.sessions.get(t.key)
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
	need, first := d.sessions.changed(s)
	if need == nil {
		d.signedInAgain(s.Name())
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
	for _, name := range g.names { // in natural order, as status lists them
		if sessionOf(g.cfg, name) == session {
			out = append(out, g.entries[name])
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
		case p.LoginSession != "":
			return signinKey(p.LoginSession)
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

// Login starts (or joins) the sign-in of a session. Run starts the flow:
// it owns the flows' goroutines.
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
	ticket := d.sessions.join(f)
	return control.LoginStart{ID: ticket, Session: f.Session, URL: f.URL, UserCode: f.UserCode, Device: f.Device, Remote: f.Remote, Expires: f.Expires.UTC()}, nil
}

// LoginStatus waits up to wait for the flow to end and reports it; after a
// sign-in it fetches the session's profiles and says which are ready.
func (d *Daemon) LoginStatus(ctx context.Context, id string, wait time.Duration) (control.LoginState, error) {
	f, w, err := d.sessions.flow(id)
	if err != nil {
		return control.LoginState{}, err
	}
	if w != nil {
		defer d.sessions.polling(w)()
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
	slices.SortFunc(st.Ready, compareNatural)
	return st, nil
}

// CancelLogin is a CLI client leaving a flow (its Ctrl-C). The flow is
// stopped unless another client still waits on it: one user's Ctrl-C does
// not end the sign-in another terminal waits for, while a client that
// went away without a word (a closed terminal) stops counting once it no
// longer polls.
func (d *Daemon) CancelLogin(_ context.Context, id string) error {
	f, _, err := d.sessions.flow(id)
	if err != nil {
		return err
	}
	if others := d.sessions.leave(id, f); others > 0 {
		d.log.Info("a client left the sign-in; others still wait for it", "session", f.Session, "waiting", others)
		return nil
	}
	f.Cancel()
	<-f.Done()
	return nil
}

// Logout forgets the named session, or every session when name is empty.
func (d *Daemon) Logout(ctx context.Context, name string) ([]string, error) {
	return d.sessions.logout(ctx, name)
}

// Assignments lists the accounts and roles an Identity Center session may
// use, with the token the daemon holds (renewed if due): what `credd
// config init --sso-session` turns into profiles. A token the portal
// refuses makes the session login-required, as a refused
// GetRoleCredentials does.
func (d *Daemon) Assignments(ctx context.Context, name string) ([]source.Assignment, error) {
	sc, ok := d.gen.Load().cfg.SSOSessions[name]
	s := d.sessions.get(ssoKey(name))
	if !ok || s == nil {
		return nil, cred.Errorf(cred.ErrUnknownSession, "no such sso session %q (sso_sessions)", name)
	}
	tok, err := s.sess.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("sso session %s: %w", name, err)
	}
	client := sso.NewFromConfig(awsapi.Config{Region: sc.Region, Endpoint: sc.Endpoint, HTTPClient: d.http}.AWS(nil))
	found, err := source.Discover(ctx, client, tok.AccessToken)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnauthorizedException" {
		s.sess.Reject(tok.AccessToken)
		return nil, fmt.Errorf("%w: sso session %s: the portal no longer accepts the session: run `%s`", cred.ErrLoginRequired, name, s.hint)
	}
	if err != nil {
		return nil, fmt.Errorf("listing the accounts and roles of sso session %s: %w", name, err)
	}
	return found, nil
}
