package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

var errEOF = io.EOF

// Client talks to a daemon's control channel.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client for the daemon of stateDir.
func NewClient(stateDir string) *Client {
	path := SocketPath(stateDir)
	return &Client{path: path, http: &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx, path)
		}},
	}}
}

// Status asks for the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Reload asks the daemon to read its configuration again.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil)
}

// Logout asks the daemon to forget sessions.
func (c *Client) Logout(ctx context.Context, req LogoutRequest) (LogoutResult, error) {
	var res LogoutResult
	return res, c.do(ctx, http.MethodPost, "/v1/logout", req, &res)
}

// Credentials fetches a profile's current credentials for command
// (ForExport, ForCredentialProcess: the audit log's label). The name
// travels as one escaped path segment: profile names may hold "/"
// (team/dev).
func (c *Client) Credentials(ctx context.Context, profile, command string) (Credentials, error) {
	var cr Credentials
	return cr, c.do(ctx, http.MethodGet, "/v1/credentials/"+url.PathEscape(profile)+"?for="+url.QueryEscape(command), nil, &cr)
}

// Login starts (or joins) a sign-in.
func (c *Client) Login(ctx context.Context, req LoginRequest) (LoginStart, error) {
	var st LoginStart
	return st, c.do(ctx, http.MethodPost, "/v1/login", req, &st)
}

// LoginStatus waits up to wait for a sign-in to end.
func (c *Client) LoginStatus(ctx context.Context, id string, wait time.Duration) (LoginState, error) {
	var st LoginState
	return st, c.do(ctx, http.MethodGet, "/v1/login/"+url.PathEscape(id)+"?wait="+wait.String(), nil, &st)
}

// SubmitLoginCode passes the code a cross-device sign-in's page showed.
func (c *Client) SubmitLoginCode(ctx context.Context, id, code string) (LoginState, error) {
	var st LoginState
	return st, c.do(ctx, http.MethodPost, "/v1/login/"+url.PathEscape(id)+"/code", LoginCode{Code: code}, &st)
}

// CancelLogin stops a sign-in.
func (c *Client) CancelLogin(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/login/"+url.PathEscape(id), nil, nil)
}

// Console asks for a console sign-in link.
func (c *Client) Console(ctx context.Context, req ConsoleRequest) (ConsoleLink, error) {
	var link ConsoleLink
	return link, c.do(ctx, http.MethodPost, "/v1/console", req, &link)
}

// Assignments lists the accounts and roles of a signed-in Identity
// Center session, with the daemon's token.
func (c *Client) Assignments(ctx context.Context, req AssignmentsRequest) (Assignments, error) {
	var as Assignments
	return as, c.do(ctx, http.MethodPost, "/v1/sso/assignments", req, &as)
}

// MFALogin starts the MFA session a profile rests on.
func (c *Client) MFALogin(ctx context.Context, req MFARequest) (MFAResult, error) {
	var res MFAResult
	return res, c.do(ctx, http.MethodPost, "/v1/mfa", req, &res)
}

// ClientToken returns a scoped client's token, creating it when missing;
// revoke replaces it.
func (c *Client) ClientToken(ctx context.Context, name string, revoke bool) (ClientToken, error) {
	op := "token"
	if revoke {
		op = "revoke"
	}
	var tok ClientToken
	return tok, c.do(ctx, http.MethodPost, "/v1/clients/"+url.PathEscape(name)+"/"+op, nil, &tok)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://credd"+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return fmt.Errorf("%w (no answer on %s)", ErrNotRunning, c.path)
		}
		return fmt.Errorf("control request %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("control API answered %s", resp.Status)
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// statusAttempt bounds one status request of AwaitStatus. A daemon
// answers its status in milliseconds; a request that gets no answer (wine
// can connect a dial made while the pipe is created to an instance nobody
// serves, see takePlaceholder) is given up and made again.
const statusAttempt = 2 * time.Second

// AwaitStatus asks for the status every interval until the daemon answers
// (a service just started) or ctx ends; then it returns the error of the
// last attempt that ctx did not cut short (ErrNotRunning, say). Each
// attempt gets statusAttempt at most.
func (c *Client) AwaitStatus(ctx context.Context, interval time.Duration) (Status, error) {
	t := time.NewTimer(0)
	defer t.Stop()
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, statusAttempt)
		st, err := c.Status(actx)
		cancel()
		switch {
		case err == nil:
			return st, nil
		case ctx.Err() != nil && last != nil:
			return st, last
		case ctx.Err() != nil:
			return st, err
		}
		last = err
		t.Reset(interval)
		select {
		case <-ctx.Done():
			return st, last
		case <-t.C:
		}
	}
}
