package daemon

import (
	"context"
	"os"
	"time"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

// ControlInfo is what the control API reports beyond the refreshers.
type ControlInfo struct {
	Version    string
	ConfigPath string
}

// ControlBackend adapts the daemon to the control API.
func (d *Daemon) ControlBackend(info ControlInfo) control.Backend {
	return controlBackend{d: d, info: info}
}

type controlBackend struct {
	d    *Daemon
	info ControlInfo
}

func (b controlBackend) Status(ctx context.Context) control.Status {
	g := b.d.gen.Load()
	st := control.Status{
		Version: b.info.Version, PID: os.Getpid(), Started: b.d.started.UTC(), Config: b.info.ConfigPath,
		Listen: g.cfg.Listen, DefaultProfile: g.defaultProfile, Profiles: []control.ProfileStatus{}, Sessions: []control.SessionStatus{},
	}
	st.Store, st.Sessions = b.d.sessions.status()
	st.Sessions = b.d.withOnDemand(st.Sessions)
	st.Problems = b.d.skew.problems()
	for _, p := range b.d.Status() {
		ps := control.ProfileStatus{Name: p.Profile, Source: string(p.Source), State: string(p.State),
			Expires: timePtr(p.Expires), LastRefresh: timePtr(p.LastRefresh), NextRefresh: timePtr(p.NextAttempt)}
		if p.LastError != nil {
			ps.LastError = p.LastError.Error()
		}
		st.Profiles = append(st.Profiles, ps)
	}
	return st
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (b controlBackend) Reload(ctx context.Context) error { return b.d.Reload(ctx, "requested") }

func (b controlBackend) Logout(ctx context.Context, req control.LogoutRequest) (control.LogoutResult, error) {
	removed, err := b.d.Logout(ctx, req.Session)
	return control.LogoutResult{Removed: removed}, err
}

func (b controlBackend) Login(ctx context.Context, req control.LoginRequest) (control.LoginStart, error) {
	return b.d.Login(ctx, req)
}

func (b controlBackend) LoginStatus(ctx context.Context, id string, wait time.Duration) (control.LoginState, error) {
	return b.d.LoginStatus(ctx, id, wait)
}

func (b controlBackend) MFALogin(ctx context.Context, req control.MFARequest) (control.MFAResult, error) {
	return b.d.MFALogin(ctx, req)
}

func (b controlBackend) CancelLogin(ctx context.Context, id string) error {
	return b.d.CancelLogin(ctx, id)
}

// Credentials answers `credd export` and `credd credential-process`,
// each answer a line of the audit log.
func (b controlBackend) Credentials(ctx context.Context, req control.CredentialsRequest) (cred.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := b.d.Current(withAsker(ctx, callerProgram(req.Caller)), req.Profile)
	if err == nil {
		b.d.auditControl(req)
	}
	return c, err
}

var _ control.LoginCodes = controlBackend{}

// SubmitLoginCode implements control.LoginCodes: the code of a
// cross-device sign-in, as the user pasted it.
func (b controlBackend) SubmitLoginCode(ctx context.Context, id, code string) (control.LoginState, error) {
	return b.d.SubmitLoginCode(ctx, id, code)
}

func (b controlBackend) Assignments(ctx context.Context, req control.AssignmentsRequest) (control.Assignments, error) {
	found, err := b.d.Assignments(ctx, req.SSOSession)
	if err != nil {
		return control.Assignments{}, err
	}
	out := control.Assignments{SSOSession: req.SSOSession, Assignments: []control.Assignment{}}
	for _, a := range found {
		out.Assignments = append(out.Assignments, control.Assignment{AccountID: a.AccountID, AccountName: a.AccountName, Role: a.Role})
	}
	return out, nil
}

var _ control.Gate = controlBackend{}

// Admit implements control.Gate: see admitControl.
func (b controlBackend) Admit(ctx context.Context, req control.AdmitRequest) error {
	return b.d.admitControl(req)
}

var _ control.ClientTokens = controlBackend{}

// ClientToken implements control.ClientTokens: the token file is written
// first, then the daemon's tokens are read again, before the answer.
func (b controlBackend) ClientToken(ctx context.Context, name string, revoke bool) (control.ClientToken, error) {
	return b.d.ClientToken(name, revoke)
}
