// Package control is credd's local control API: HTTP over the Unix socket
// <state_dir>/control.sock (mode 0600 in a 0700 directory), or on Windows
// over a named pipe whose security descriptor admits only the user. The
// daemon serves it; the CLI is its only intended client. It owns the wire
// shapes (documented in docs/control.md), the channel's life cycle and the
// client.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/imds"
)

// SocketName is the socket's file name under the state dir (not on
// Windows: see SocketPath).
const SocketName = "control.sock"

// Status is the answer of GET /v1/status: a documented, stable shape that
// `credd status --json` prints as it is. Fields are only ever added.
type Status struct {
	Version        string          `json:"version"`
	PID            int             `json:"pid"`
	Started        time.Time       `json:"started"`
	Config         string          `json:"config"`
	Listen         string          `json:"listen"`
	DefaultProfile string          `json:"default_profile"`
	Store          StoreStatus     `json:"store"`
	Profiles       []ProfileStatus `json:"profiles"`
	Sessions       []SessionStatus `json:"sessions"`
	// Problems the daemon found that are not a profile's or the store's
	// (a clock far off).
	Problems []string `json:"problems,omitempty"`
	// Caller is who asked for this status, as the daemon's OS names the
	// control connection (credd doctor compares it with itself).
	Caller *StatusCaller `json:"caller,omitempty"`
}

// StatusCaller is the caller of a status request.
type StatusCaller struct {
	User  string `json:"user,omitempty"`
	PID   int    `json:"pid,omitempty"`
	Exe   string `json:"exe,omitempty"`
	Error string `json:"error,omitempty"` // what the OS could not tell
}

// ProfileStatus is one profile.
type ProfileStatus struct {
	Name        string     `json:"name"`
	Source      string     `json:"source"` // aws_profile, source_profile, sso_session, identity_provider
	State       string     `json:"state"`  // idle, fresh, refreshing, stale, expired, error, login-required
	Expires     *time.Time `json:"expires,omitempty"`
	LastRefresh *time.Time `json:"last_refresh,omitempty"`
	NextRefresh *time.Time `json:"next_refresh,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// SessionStatus is one sign-in session.
type SessionStatus struct {
	Name    string     `json:"name"`
	Kind    string     `json:"kind"`
	State   string     `json:"state"` // signed-in, login-required, or stored (no configured session uses it)
	Expires *time.Time `json:"expires,omitempty"`
	Error   string     `json:"error,omitempty"` // why a sign-in is needed
	// Login is the command that signs the session in again, while it
	// needs that (login-required, mfa-required): `credd login
	// --sso-session corp`, `--provider okta`, `--signin --profile
	// console`, `--profile admin` (an MFA code).
	Login string `json:"login,omitempty"`
	// OnDemand is what sign_in_on_demand is doing for the session, when
	// it is doing anything.
	OnDemand *OnDemandStatus `json:"on_demand,omitempty"`
}

// OnDemandStatus is a session's on-demand sign-in (sign_in_on_demand).
type OnDemandStatus struct {
	Mode string `json:"mode"` // notify, browser or off
	// InProgress: a sign-in of the session is under way.
	InProgress bool `json:"in_progress,omitempty"`
	// AskedBy is the program whose request started it, or waits for one
	// ("aws (pid 4242, uid 1000)").
	AskedBy string `json:"asked_by,omitempty"`
	// Pending: asked for while the screen was locked or the machine
	// slept; the browser opens when the user is back.
	Pending bool `json:"pending,omitempty"`
	// NotBefore: after abandoned sign-ins, none opens on its own before.
	NotBefore *time.Time `json:"not_before,omitempty"`
}

// StoreStatus tells where sessions live and what could not be read.
type StoreStatus struct {
	Kind     string   `json:"kind"`
	Problems []string `json:"problems,omitempty"`
}

// Credentials is the answer of GET /v1/credentials/<profile>, for
// `credd export` and `credd credential-process`.
type Credentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	SessionToken    string    `json:"SessionToken,omitempty"`
	Expiration      time.Time `json:"Expiration"`
	AccountID       string    `json:"AccountId,omitempty"`
	RoleARN         string    `json:"RoleArn,omitempty"`
}

// Cred converts to credd's credential value.
func (c Credentials) Cred() cred.Credentials {
	return cred.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Expires: c.Expiration, AccountID: c.AccountID, RoleARN: c.RoleARN}
}

// LogoutRequest names what to forget; empty forgets every session.
type LogoutRequest struct {
	Session string `json:"session,omitempty"`
}

// LogoutResult lists what was forgotten.
type LogoutResult struct {
	Removed []string `json:"removed"`
}

// LoginRequest asks the daemon to sign in to a session: the one named, the
// one a profile uses, or the only one configured.
type LoginRequest struct {
	SSOSession string `json:"sso_session,omitempty"`
	Provider   string `json:"provider,omitempty"`
	Profile    string `json:"profile,omitempty"`
	Device     bool   `json:"device,omitempty"`
	// SignIn asks for an AWS Sign-In (`aws login`) session: the one the
	// profile's login_session names, or the only one.
	SignIn bool `json:"signin,omitempty"`
	// Remote is AWS Sign-In's cross-device sign-in: the user signs in on
	// any device and passes the code it shows (POST /v1/login/<id>/code).
	Remote bool `json:"remote,omitempty"`
}

// LoginStart is a sign-in under way: open URL (and enter UserCode for a
// device sign-in) before Expires.
type LoginStart struct {
	ID       string `json:"id"`
	Session  string `json:"session"`
	URL      string `json:"url"`
	UserCode string `json:"user_code,omitempty"`
	Device   bool   `json:"device"`
	// Remote: a cross-device sign-in; it waits for the code the page at
	// URL shows (LoginCodes).
	Remote  bool      `json:"remote,omitempty"`
	Expires time.Time `json:"expires"`
}

// LoginCode is the body of POST /v1/login/<id>/code: the code a
// cross-device sign-in's page showed, as the user pasted it.
type LoginCode struct {
	Code string `json:"code"`
}

// LoginCodes is the part of a Backend that takes the codes of
// cross-device sign-ins (POST /v1/login/<id>/code); a Backend without it
// answers 404 there.
type LoginCodes interface {
	// SubmitLoginCode redeems code for sign-in id, and answers once it
	// signed in (the state "done"), or with an error: a code that is not
	// the sign-in's leaves it waiting for another (kind invalid).
	SubmitLoginCode(ctx context.Context, id, code string) (LoginState, error)
}

// LoginState is a sign-in's progress: pending, done or failed.
type LoginState struct {
	ID       string         `json:"id"`
	Session  string         `json:"session"`
	State    string         `json:"state"`
	Error    string         `json:"error,omitempty"`
	Ready    []string       `json:"ready,omitempty"`
	NotReady []ProfileError `json:"not_ready,omitempty"`
}

// ProfileError is a profile that is not ready, and why.
type ProfileError struct {
	Profile string `json:"profile"`
	Error   string `json:"error"`
}

// MFARequest starts the MFA session a profile rests on: with Code, or
// with the code its mfa_process prints when Code is "".
type MFARequest struct {
	Profile string `json:"profile"`
	Code    string `json:"code,omitempty"`
}

// MFAResult answers an MFARequest. MFA false: the profile rests on no MFA
// device (nothing was done). NeedCode: no code was given and no
// mfa_process is configured; ask the user for a code of Serial and send
// it. Otherwise the session started, until Expires, and the profiles
// resting on it were fetched again.
type MFAResult struct {
	Profile  string         `json:"profile"`
	MFA      bool           `json:"mfa"`
	NeedCode bool           `json:"need_code,omitempty"`
	Serial   string         `json:"serial,omitempty"`
	Session  string         `json:"session,omitempty"`
	Expires  *time.Time     `json:"expires,omitempty"`
	Ready    []string       `json:"ready,omitempty"`
	NotReady []ProfileError `json:"not_ready,omitempty"`
}

// ConsoleRequest asks for a console sign-in link: profile "" is the
// default profile; destination and region "" are the profile's.
type ConsoleRequest struct {
	Profile     string `json:"profile,omitempty"`
	Destination string `json:"destination,omitempty"`
	Region      string `json:"region,omitempty"`
}

// ConsoleLink is a console sign-in link. URL signs in whoever opens it
// until Expires (15 minutes).
type ConsoleLink struct {
	URL         string    `json:"url"`
	Expires     time.Time `json:"expires"`
	Profile     string    `json:"profile"`
	Destination string    `json:"destination"`
	Region      string    `json:"region"`
	// The console session lasts SessionSeconds when credd asked for a
	// length, else until SessionExpires (the credentials' expiry).
	SessionSeconds int        `json:"session_seconds,omitempty"`
	SessionExpires *time.Time `json:"session_expires,omitempty"`
	Note           string     `json:"note,omitempty"`
	// Credentials is the kind of credentials that signed in: role,
	// chained-role, federation (IAM user keys), external (resolved by the
	// AWS SDK).
	Credentials string `json:"credentials"`
}

// AssignmentsRequest asks for the accounts and roles of a signed-in
// Identity Center session (sso_sessions entry SSOSession).
type AssignmentsRequest struct {
	SSOSession string `json:"sso_session"`
}

// Assignments lists them, sorted by account name and role.
type Assignments struct {
	SSOSession  string       `json:"sso_session"`
	Assignments []Assignment `json:"assignments"`
}

// Assignment is one role of one account.
type Assignment struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	Role        string `json:"role"`
}

// ClientToken is a scoped client's token and where it is kept.
type ClientToken struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Token string `json:"token"`
}

// ClientTokens is the part of a Backend that hands out scoped clients'
// tokens (POST /v1/clients/{name}/token and /revoke); a Backend without
// it answers 404 there.
type ClientTokens interface {
	// ClientToken returns client name's token, creating it when missing;
	// revoke replaces it, and the old one is refused from then on.
	ClientToken(ctx context.Context, name string, revoke bool) (ClientToken, error)
}

// MFASessions is the part of a Backend that starts MFA sessions (POST
// /v1/mfa); a Backend without it answers 404 there.
type MFASessions interface {
	// MFALogin starts the MFA session req.Profile rests on. A code STS
	// refuses is an error of kind cred.ErrMFARequired; a malformed one of
	// kind cred.ErrInvalid (nothing was sent).
	MFALogin(ctx context.Context, req MFARequest) (MFAResult, error)
}

// Error is every error answer: {"code": "...", "message": "...", "kind":
// "..."}. Status and Code are the HTTP answer (imds.ErrorStatus maps
// credd's error kinds to them, as on every HTTP endpoint); Kind is the
// error's kind (cred.KindOf), so that on the client's side errors.Is
// matches the same sentinels of package cred as it did in the daemon.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Kind    string `json:"kind,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel of the answer's kind (and so its parents:
// cred.ErrMFARequired is a cred.ErrLoginRequired). An answer without a
// kind, from a daemon older than the field, is matched by its code.
func (e *Error) Is(target error) bool {
	k := cred.KindError(e.Kind)
	if k == nil {
		k = kindOfCode[e.Code]
	}
	return k != nil && errors.Is(k, target)
}

// kindOfCode reads the kinds of a daemon that sent codes only.
var kindOfCode = map[string]error{
	CodeLoginRequired: cred.ErrLoginRequired,
	CodeNotFound:      cred.ErrUnknownProfile,
	CodeBadRequest:    cred.ErrInvalid,
	CodeReloadRefused: cred.ErrInvalid,
}

// Error codes.
const (
	CodeBadRequest    = imds.CodeBadRequest
	CodeNotFound      = imds.CodeNotFound
	CodeNotAvailable  = imds.CodeNotAvailable
	CodeLoginRequired = imds.CodeLoginRequired
	CodeConflict      = imds.CodeConflict
	CodeForbidden     = imds.CodeForbidden
	CodeReloadRefused = "ReloadRefused"
	CodeLoginFailed   = "LoginFailed"
	CodeInternal      = "Internal"
)

// ErrNotRunning means no daemon answers on the socket.
var ErrNotRunning = errors.New("credd is not running")

// ErrAlreadyRunning means another daemon serves the socket.
var ErrAlreadyRunning = errors.New("another credd is running with this state dir")

// PrepareDir creates the state dir (mode 0700) when missing and makes sure
// only its owner may enter it. A directory of this user that group or
// others may access is tightened to 0700: tightened is true and was is the
// mode it had, for the caller to tell the user. A directory that cannot be
// made private (another user's, or chmod fails) is an error naming it and
// the command that fixes it. On Windows it only creates the directory.
func PrepareDir(stateDir string) (was fs.FileMode, tightened bool, err error) {
	return prepareDir(stateDir)
}

// Listen creates the control channel of stateDir: the Unix socket
// <state_dir>/control.sock, mode 0600, or on Windows a named pipe whose
// security descriptor admits only this user (see SocketPath). A live
// daemon's channel is never taken over (ErrAlreadyRunning); a socket file
// left by a crashed daemon (nobody answers) is replaced. The state dir
// must exist and be private (PrepareDir makes it so): Listen refuses one
// that others may access.
func Listen(stateDir string) (net.Listener, error) {
	if err := checkDir(stateDir); err != nil {
		return nil, err
	}
	return listen(SocketPath(stateDir))
}

// Backend is what the daemon offers the control API.
type Backend interface {
	Status(ctx context.Context) Status
	Reload(ctx context.Context) error
	Logout(ctx context.Context, req LogoutRequest) (LogoutResult, error)
	// Credentials answers `credd export` and `credd credential-process`;
	// req says who asks, for the audit log.
	Credentials(ctx context.Context, req CredentialsRequest) (cred.Credentials, error)
	Login(ctx context.Context, req LoginRequest) (LoginStart, error)
	LoginStatus(ctx context.Context, id string, wait time.Duration) (LoginState, error)
	CancelLogin(ctx context.Context, id string) error
	Console(ctx context.Context, req ConsoleRequest) (ConsoleLink, error)
	Assignments(ctx context.Context, req AssignmentsRequest) (Assignments, error)
}

// maxLoginWait bounds one progress poll.
const maxLoginWait = 30 * time.Second

// answer is the error answer for err: an *Error as it is, else by err's
// kind (imds.ErrorStatus), else other (a request's own failure: an
// upstream call that failed, say) with err's message.
func answer(err error, other Error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{Status: other.Status, Code: other.Code, Message: err.Error(), Kind: cred.KindOf(err)}
	if status, code, ok := imds.ErrorStatus(err); ok {
		e.Status, e.Code = status, code
	}
	return e
}

// Failure answers of requests, for errors of no kind.
var (
	internal     = Error{Status: http.StatusInternalServerError, Code: CodeInternal}
	notAvailable = Error{Status: http.StatusServiceUnavailable, Code: CodeNotAvailable}
	badGateway   = Error{Status: http.StatusBadGateway, Code: CodeNotAvailable}
	loginFailed  = Error{Status: http.StatusBadGateway, Code: CodeLoginFailed}
)

// maxBody bounds control request bodies.
const maxBody = 64 << 10

// Handler serves the control API.
func Handler(b Backend, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	// handle serves pattern with fn; an error of no kind is answered
	// as other.
	handle := func(pattern string, other Error, fn func(r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			v, err := fn(r)
			if err != nil {
				e := answer(err, other)
				log.Debug("control request failed", "path", r.URL.Path, "code", e.Code, "error", e.Message)
				writeJSON(w, e.Status, e)
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	handle("GET /v1/status", internal, func(r *http.Request) (any, error) {
		st := b.Status(r.Context())
		c := callerOf(r)
		st.Caller = &StatusCaller{User: c.User, PID: c.Process.PID, Exe: c.Process.Exe}
		if c.Err != nil {
			st.Caller.Error = c.Err.Error()
		}
		return st, nil
	})
	handle("POST /v1/reload", internal, func(r *http.Request) (any, error) {
		if err := b.Reload(r.Context()); err != nil {
			// A refused configuration: the user's to fix (exit 2).
			return nil, &Error{Status: http.StatusUnprocessableEntity, Code: CodeReloadRefused, Message: err.Error(), Kind: cred.KindOf(cred.ErrInvalid)}
		}
		return struct {
			Reloaded bool `json:"reloaded"`
		}{true}, nil
	})
	handle("POST /v1/logout", internal, func(r *http.Request) (any, error) {
		var req LogoutRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return b.Logout(r.Context(), req)
	})
	// A profile name may hold "/" (team/dev): the rest of the path is the
	// name, whether the client escaped the slashes (ours does) or not.
	handle("GET /v1/credentials/{profile...}", notAvailable, func(r *http.Request) (any, error) {
		req := CredentialsRequest{Profile: r.PathValue("profile"), For: r.URL.Query().Get("for")}
		switch req.For {
		case "":
			req.For = ForExport
		case ForExport, ForCredentialProcess:
		default:
			return nil, cred.Errorf(cred.ErrInvalid, "for must be %s or %s", ForExport, ForCredentialProcess)
		}
		req.Caller = callerOf(r)
		c, err := b.Credentials(r.Context(), req)
		if err != nil {
			return nil, err
		}
		return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			Expiration: c.Expires.UTC(), AccountID: c.AccountID, RoleARN: c.RoleARN}, nil
	})
	handle("POST /v1/login", loginFailed, func(r *http.Request) (any, error) {
		var req LoginRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return b.Login(r.Context(), req)
	})
	handle("GET /v1/login/{id}", internal, func(r *http.Request) (any, error) {
		wait := time.Duration(0)
		if w := r.URL.Query().Get("wait"); w != "" {
			d, err := time.ParseDuration(w)
			if err != nil || d < 0 {
				return nil, cred.Errorf(cred.ErrInvalid, "wait must be a duration such as 20s")
			}
			wait = min(d, maxLoginWait)
		}
		return b.LoginStatus(r.Context(), r.PathValue("id"), wait)
	})
	if lc, ok := b.(LoginCodes); ok {
		handle("POST /v1/login/{id}/code", loginFailed, func(r *http.Request) (any, error) {
			var req LoginCode
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			if req.Code == "" {
				return nil, cred.Errorf(cred.ErrInvalid, "code is empty: paste the code the sign-in page shows")
			}
			return lc.SubmitLoginCode(r.Context(), r.PathValue("id"), req.Code)
		})
	}
	handle("DELETE /v1/login/{id}", internal, func(r *http.Request) (any, error) {
		if err := b.CancelLogin(r.Context(), r.PathValue("id")); err != nil {
			return nil, err
		}
		return struct {
			Cancelled bool `json:"cancelled"`
		}{true}, nil
	})
	handle("POST /v1/console", notAvailable, func(r *http.Request) (any, error) {
		var req ConsoleRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return b.Console(r.Context(), req)
	})
	handle("POST /v1/sso/assignments", badGateway, func(r *http.Request) (any, error) {
		var req AssignmentsRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return b.Assignments(r.Context(), req)
	})
	// Known paths with another method get 405; everything else 404, both
	// in the {code, message} shape.
	methods := map[string]string{"/v1/status": "GET", "/v1/reload": "POST", "/v1/logout": "POST", "/v1/login": "POST", "/v1/console": "POST", "/v1/sso/assignments": "POST"}
	if m, ok := b.(MFASessions); ok {
		methods["/v1/mfa"] = "POST"
		handle("POST /v1/mfa", loginFailed, func(r *http.Request) (any, error) {
			var req MFARequest
			if err := decode(r, &req); err != nil {
				return nil, err
			}
			return m.MFALogin(r.Context(), req)
		})
	}
	if ct, ok := b.(ClientTokens); ok {
		for _, op := range []string{"token", "revoke"} {
			handle("POST /v1/clients/{name}/"+op, internal, func(r *http.Request) (any, error) {
				return ct.ClientToken(r.Context(), r.PathValue("name"), op == "revoke")
			})
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := methods[r.URL.Path]; ok || strings.HasPrefix(r.URL.Path, "/v1/credentials/") {
			if !ok {
				m = "GET"
			}
			w.Header().Set("Allow", m)
			writeJSON(w, http.StatusMethodNotAllowed, &Error{Code: CodeBadRequest, Message: r.Method + " " + r.URL.Path + ": use " + m})
			return
		}
		writeJSON(w, http.StatusNotFound, &Error{Code: CodeNotFound, Message: r.Method + " " + r.URL.Path + " is not part of the control API"})
	})
	g, ok := b.(Gate)
	if !ok {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := admit(g, r); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: err.Error()}
			}
			log.Debug("control request refused", "code", e.Code, "error", e.Message)
			writeJSON(w, e.Status, e)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// decode reads a JSON body strictly; an empty body is an empty request.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, errEOF) {
		return cred.Errorf(cred.ErrInvalid, "malformed request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return cred.Errorf(cred.ErrInvalid, "malformed request body: more than one JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"Internal","message":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Serve runs the control API on ln until ctx ends. The caller of a
// request is whoever the OS says holds the connection: a Backend that is
// a Gate decides whether it is served, and a credentials request names it
// (CredentialsRequest.Caller).
func Serve(ctx context.Context, ln net.Listener, b Backend, log *slog.Logger) error {
	srv := &http.Server{Handler: Handler(b, log), ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10, ConnContext: connContext}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
