// Package ssotest is a fake AWS IAM Identity Center for tests: the SSO OIDC
// service (RegisterClient, StartDeviceAuthorization, CreateToken with the
// authorization code + PKCE, device code and refresh token grants, and a
// browser /authorize endpoint that approves at once) and the access portal
// (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout), both on one
// httptest server that a session's `endpoint` selects.
//
// Requests and errors follow the services' restJson1 shapes; the tests of
// this package prove them with the AWS SDK's own ssooidc and sso clients.
// Tokens it issues carry recognisable prefixes (see the Prefix constants)
// so tests can assert that none reaches a log or an error.
package ssotest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Prefixes of the secrets the fake issues.
const (
	PrefixAccess  = "ssotest-access-"
	PrefixRefresh = "ssotest-refresh-"
	PrefixSecret  = "ssotest-client-secret-"
	PrefixRoleKey = "ssotest-role-secret-"
)

// Grant types of CreateToken.
const (
	GrantAuthCode   = "authorization_code"
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefresh    = "refresh_token"
)

// Account is one AWS account assigned to the user, with its roles.
type Account struct {
	ID, Name, Email string
	Roles           []string
}

// Options shape the fake; the zero value works.
type Options struct {
	AccessTTL time.Duration // access tokens; default 1h
	RoleTTL   time.Duration // role credentials; default 1h
	// RoleExpires, if set, is the expiry of every role credential (a fixed
	// time shows a wrong unit or a default expiry).
	RoleExpires     time.Time
	RegistrationTTL time.Duration // client registrations; default 90 days
	// Interval is the device poll interval in seconds (default 1).
	Interval int32
	// PendingPolls device polls are answered authorization_pending before
	// the device sign-in is approved (when nobody calls Approve).
	PendingPolls int
	// SlowDown answers the first device poll with slow_down.
	SlowDown bool
	// NoRefreshTokens issues none (a client registered without scopes).
	NoRefreshTokens bool
	// PageSize of ListAccounts and ListAccountRoles (default 2).
	PageSize int
	Accounts []Account
}

// Server is the fake. It is an http.Handler.
type Server struct {
	URL string
	o   Options

	mu       sync.Mutex
	now      func() time.Time
	clients  map[string]*client
	codes    map[string]*authCode
	devices  map[string]*device
	access   map[string]bool   // valid access tokens
	refresh  map[string]string // valid refresh token -> client ID
	counts   map[string]int    // calls by operation, token calls by grant ("CreateToken/refresh_token")
	throttle int               // portal calls still to throttle
	portal   []PortalCall
	seq      int
}

type client struct {
	id, secret   string
	grants       []string
	redirectURIs []string
	scopes       []string
	expires      time.Time
}

type authCode struct {
	clientID, redirect, challenge string
	used                          bool
}

type device struct {
	clientID string
	polls    int
	slowed   bool
	approved bool
	expires  time.Time
	issued   bool
}

// PortalCall is one GetRoleCredentials the portal answered or refused.
type PortalCall struct{ Bearer, AccountID, RoleName string }

// New starts a fake that stops when the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	s := NewHandler(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// NewHandler returns the fake without a listener; set URL before use if
// links matter.
func NewHandler(o Options) *Server {
	if o.AccessTTL <= 0 {
		o.AccessTTL = time.Hour
	}
	if o.RoleTTL <= 0 {
		o.RoleTTL = time.Hour
	}
	if o.RegistrationTTL <= 0 {
		o.RegistrationTTL = 90 * 24 * time.Hour
	}
	if o.Interval <= 0 {
		o.Interval = 1
	}
	if o.PageSize <= 0 {
		o.PageSize = 2
	}
	return &Server{o: o, now: time.Now, clients: map[string]*client{}, codes: map[string]*authCode{},
		devices: map[string]*device{}, access: map[string]bool{}, refresh: map[string]string{}, counts: map[string]int{}}
}

// RoleCredentials are what GetRoleCredentials answers for an account and role.
func RoleCredentials(account, role string) (key, secret, token string) {
	return "ASIASSO" + account, PrefixRoleKey + role, "ssotest-session-" + account + "-" + role
}

// Calls counts the calls of an operation so far: "RegisterClient",
// "StartDeviceAuthorization", "Authorize", "CreateToken",
// "CreateToken/<grant>", "GetRoleCredentials", "ListAccounts",
// "ListAccountRoles", "Logout".
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// PortalCalls returns every GetRoleCredentials so far.
func (s *Server) PortalCalls() []PortalCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.portal)
}

// Accept makes the portal accept an access token (as if `aws sso login`
// had obtained it).
func (s *Server) Accept(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access[accessToken] = true
}

// AddClient registers a client as if RegisterClient had (for the device
// code and refresh token grants), e.g. the one `aws sso login` left in a
// cache file.
func (s *Server) AddClient(id, secret string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = &client{id: id, secret: secret, grants: []string{GrantDeviceCode, GrantRefresh}, expires: expires}
}

// Redeemable makes refreshToken valid for clientID.
func (s *Server) Redeemable(refreshToken, clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh[refreshToken] = clientID
}

// EndSession ends every session: access tokens and refresh tokens stop
// working, as when the Identity Center session reaches its end.
func (s *Server) EndSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access = map[string]bool{}
	s.refresh = map[string]string{}
}

// Throttle answers the next n portal calls with TooManyRequestsException.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Approve approves the device sign-in with this user code.
func (s *Server) Approve(userCode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[userCode]
	if ok {
		d.approved = true
	}
	return ok
}

// ExpireDevices makes every device code expired.
func (s *Server) ExpireDevices() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		d.expires = time.Time{}
	}
}

func (s *Server) next(prefix string) string {
	s.seq++
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + strconv.Itoa(s.seq) + "-" + hex.EncodeToString(b)
}

func (s *Server) count(op string) {
	s.counts[op]++
}

// ServeHTTP routes as the real endpoints do (oidc.<region>.amazonaws.com and
// portal.sso.<region>.amazonaws.com), merged on one host.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/client/register":
		s.register(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/device_authorization":
		s.startDevice(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/authorize":
		s.authorize(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		s.token(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/federation/credentials":
		s.roleCredentials(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/assignment/accounts":
		s.listAccounts(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/assignment/roles":
		s.listRoles(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/logout":
		s.logout(w, r)
	default:
		http.NotFound(w, r)
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// oidcError answers as SSO OIDC does: the type in X-Amzn-Errortype and
// OAuth's error and error_description in the body.
func oidcError(w http.ResponseWriter, status int, typ, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// portalError answers as the portal does: the type and a message.
func portalError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		oidcError(w, http.StatusBadRequest, "InvalidRequestException", "invalid_request", "body is not JSON: "+err.Error())
		return false
	}
	return true
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientName   string   `json:"clientName"`
		ClientType   string   `json:"clientType"`
		Scopes       []string `json:"scopes"`
		GrantTypes   []string `json:"grantTypes"`
		RedirectURIs []string `json:"redirectUris"`
		IssuerURL    string   `json:"issuerUrl"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("RegisterClient")
	switch {
	case in.ClientName == "":
		oidcError(w, http.StatusBadRequest, "InvalidRequestException", "invalid_request", "clientName is required")
		return
	case in.ClientType != "public":
		oidcError(w, http.StatusBadRequest, "InvalidClientMetadataException", "invalid_client_metadata", "clientType must be public")
		return
	case slices.Contains(in.GrantTypes, GrantAuthCode) && (len(in.RedirectURIs) == 0 || in.IssuerURL == ""):
		oidcError(w, http.StatusBadRequest, "InvalidRequestException", "invalid_request", "authorization_code needs redirectUris and issuerUrl")
		return
	}
	grants := in.GrantTypes
	if len(grants) == 0 {
		grants = []string{GrantDeviceCode, GrantRefresh}
	}
	c := &client{id: s.next("ssotest-client-"), secret: s.next(PrefixSecret), grants: grants,
		redirectURIs: in.RedirectURIs, scopes: in.Scopes, expires: s.now().Add(s.o.RegistrationTTL).Truncate(time.Second)}
	s.clients[c.id] = c
	reply(w, map[string]any{
		"clientId":              c.id,
		"clientSecret":          c.secret,
		"clientIdIssuedAt":      s.now().Unix(),
		"clientSecretExpiresAt": c.expires.Unix(),
	})
}

// client checks a client's credentials; it answers the error itself.
func (s *Server) client(w http.ResponseWriter, id, secret string) *client {
	c, ok := s.clients[id]
	if !ok || c.secret != secret {
		oidcError(w, http.StatusUnauthorized, "InvalidClientException", "invalid_client", "client authentication failed")
		return nil
	}
	if !c.expires.After(s.now()) {
		oidcError(w, http.StatusUnauthorized, "InvalidClientException", "invalid_client", "client registration expired")
		return nil
	}
	return c
}

func (s *Server) startDevice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		StartURL     string `json:"startUrl"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("StartDeviceAuthorization")
	c := s.client(w, in.ClientID, in.ClientSecret)
	if c == nil {
		return
	}
	if !slices.Contains(c.grants, GrantDeviceCode) {
		oidcError(w, http.StatusBadRequest, "UnauthorizedClientException", "unauthorized_client", "client is not registered for the device code grant")
		return
	}
	if in.StartURL == "" {
		oidcError(w, http.StatusBadRequest, "InvalidRequestException", "invalid_request", "startUrl is required")
		return
	}
	code, user := s.next("ssotest-device-"), fmt.Sprintf("ABCD-%04d", s.seq)
	d := &device{clientID: c.id, expires: s.now().Add(10 * time.Minute)}
	s.devices[code] = d
	s.devices[user] = d
	reply(w, map[string]any{
		"deviceCode":              code,
		"userCode":                user,
		"verificationUri":         s.URL + "/device",
		"verificationUriComplete": s.URL + "/device?user_code=" + user,
		"expiresIn":               600,
		"interval":                s.o.Interval,
	})
}

// sameRedirect compares a redirect URI with a registered one; loopback
// redirects match on any port (RFC 8252 section 7.3).
func sameRedirect(registered, got string) bool {
	if registered == got {
		return true
	}
	a, err1 := url.Parse(registered)
	b, err2 := url.Parse(got)
	if err1 != nil || err2 != nil || a.Hostname() != "127.0.0.1" {
		return false
	}
	return a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && a.Path == b.Path && (a.Port() == "" || a.Port() == b.Port())
}

// authorize is the browser sign-in: it approves at once and redirects back
// with a code, remembering the PKCE challenge for CreateToken.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("Authorize")
	c, ok := s.clients[q.Get("client_id")]
	redirect := q.Get("redirect_uri")
	if !ok || !slices.ContainsFunc(c.redirectURIs, func(u string) bool { return sameRedirect(u, redirect) }) {
		http.Error(w, "unknown client or redirect URI", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirect)
	out := url.Values{"state": {q.Get("state")}}
	switch {
	case q.Get("response_type") != "code":
		out.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		out.Set("error", "invalid_request")
		out.Set("error_description", "PKCE with S256 is required")
	default:
		code := s.next("ssotest-code-")
		s.codes[code] = &authCode{clientID: c.id, redirect: redirect, challenge: q.Get("code_challenge")}
		out.Set("code", code)
	}
	back.RawQuery = out.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		GrantType    string `json:"grantType"`
		Code         string `json:"code"`
		CodeVerifier string `json:"codeVerifier"`
		DeviceCode   string `json:"deviceCode"`
		RedirectURI  string `json:"redirectUri"`
		RefreshToken string `json:"refreshToken"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("CreateToken")
	s.count("CreateToken/" + in.GrantType)
	c := s.client(w, in.ClientID, in.ClientSecret)
	if c == nil {
		return
	}
	if !slices.Contains(c.grants, in.GrantType) {
		oidcError(w, http.StatusBadRequest, "UnauthorizedClientException", "unauthorized_client", "client is not registered for grant "+in.GrantType)
		return
	}
	switch in.GrantType {
	case GrantAuthCode:
		ac, ok := s.codes[in.Code]
		if !ok || ac.used || ac.clientID != c.id {
			oidcError(w, http.StatusBadRequest, "InvalidGrantException", "invalid_grant", "unknown or used authorization code")
			return
		}
		ac.used = true
		sum := sha256.Sum256([]byte(in.CodeVerifier))
		if len(in.CodeVerifier) < 43 || len(in.CodeVerifier) > 128 || base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge {
			oidcError(w, http.StatusBadRequest, "InvalidGrantException", "invalid_grant", "code verifier does not match the challenge")
			return
		}
		if in.RedirectURI != ac.redirect {
			oidcError(w, http.StatusBadRequest, "InvalidGrantException", "invalid_grant", "redirect URI differs from the authorization request's")
			return
		}
	case GrantDeviceCode:
		d, ok := s.devices[in.DeviceCode]
		switch {
		case !ok || d.clientID != c.id || d.issued:
			oidcError(w, http.StatusBadRequest, "InvalidGrantException", "invalid_grant", "unknown device code")
			return
		case !d.expires.After(s.now()):
			oidcError(w, http.StatusBadRequest, "ExpiredTokenException", "expired_token", "device code expired")
			return
		}
		d.polls++
		if s.o.SlowDown && !d.slowed {
			d.slowed = true
			oidcError(w, http.StatusBadRequest, "SlowDownException", "slow_down", "polling too fast")
			return
		}
		if !d.approved && d.polls <= s.o.PendingPolls {
			oidcError(w, http.StatusBadRequest, "AuthorizationPendingException", "authorization_pending", "waiting for the user")
			return
		}
		d.issued = true
	case GrantRefresh:
		owner, ok := s.refresh[in.RefreshToken]
		if !ok || owner != c.id {
			oidcError(w, http.StatusBadRequest, "InvalidGrantException", "invalid_grant", "refresh token is expired or revoked")
			return
		}
		delete(s.refresh, in.RefreshToken)
	default:
		oidcError(w, http.StatusBadRequest, "UnsupportedGrantTypeException", "unsupported_grant_type", "unsupported grant type")
		return
	}
	access := s.next(PrefixAccess)
	s.access[access] = true
	out := map[string]any{"accessToken": access, "tokenType": "Bearer", "expiresIn": int(s.o.AccessTTL / time.Second)}
	if !s.o.NoRefreshTokens && slices.Contains(c.grants, GrantRefresh) {
		rt := s.next(PrefixRefresh)
		s.refresh[rt] = c.id
		out["refreshToken"] = rt
	}
	reply(w, out)
}

// bearer checks the portal's access token header; it answers the error.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok := r.Header.Get("X-Amz-Sso_bearer_token")
	if s.throttle > 0 {
		s.throttle--
		portalError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
		return "", false
	}
	if !s.access[tok] {
		portalError(w, http.StatusUnauthorized, "UnauthorizedException", "Session token not found or invalid")
		return "", false
	}
	return tok, true
}

func (s *Server) account(id string) (Account, bool) {
	for _, a := range s.o.Accounts {
		if a.ID == id {
			return a, true
		}
	}
	return Account{}, false
}

func (s *Server) roleCredentials(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("GetRoleCredentials")
	q := r.URL.Query()
	call := PortalCall{Bearer: r.Header.Get("X-Amz-Sso_bearer_token"), AccountID: q.Get("account_id"), RoleName: q.Get("role_name")}
	s.portal = append(s.portal, call)
	if _, ok := s.bearer(w, r); !ok {
		return
	}
	if a, ok := s.account(call.AccountID); len(s.o.Accounts) > 0 && (!ok || !slices.Contains(a.Roles, call.RoleName)) {
		portalError(w, http.StatusForbidden, "ForbiddenException", "No access")
		return
	}
	key, secret, token := RoleCredentials(call.AccountID, call.RoleName)
	reply(w, map[string]any{"roleCredentials": map[string]any{
		"accessKeyId":     key,
		"secretAccessKey": secret,
		"sessionToken":    token,
		"expiration":      s.roleExpiry().UnixMilli(),
	}})
}

func (s *Server) roleExpiry() time.Time {
	if !s.o.RoleExpires.IsZero() {
		return s.o.RoleExpires
	}
	return s.now().Add(s.o.RoleTTL).Truncate(time.Second)
}

// page slices items by the next_token (an index) and max_result.
func page[T any](s *Server, q url.Values, items []T) ([]T, string) {
	start, _ := strconv.Atoi(q.Get("next_token"))
	size := s.o.PageSize
	if m, err := strconv.Atoi(q.Get("max_result")); err == nil && m > 0 && m < size {
		size = m
	}
	start = min(max(start, 0), len(items))
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("ListAccounts")
	if _, ok := s.bearer(w, r); !ok {
		return
	}
	type info struct {
		AccountID    string `json:"accountId"`
		AccountName  string `json:"accountName"`
		EmailAddress string `json:"emailAddress"`
	}
	var all []info
	for _, a := range s.o.Accounts {
		all = append(all, info{a.ID, a.Name, a.Email})
	}
	items, next := page(s, r.URL.Query(), all)
	out := map[string]any{"accountList": items}
	if next != "" {
		out["nextToken"] = next
	}
	reply(w, out)
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("ListAccountRoles")
	if _, ok := s.bearer(w, r); !ok {
		return
	}
	q := r.URL.Query()
	a, ok := s.account(q.Get("account_id"))
	if !ok {
		portalError(w, http.StatusNotFound, "ResourceNotFoundException", "no such account")
		return
	}
	type info struct {
		RoleName  string `json:"roleName"`
		AccountID string `json:"accountId"`
	}
	var all []info
	for _, role := range a.Roles {
		all = append(all, info{role, a.ID})
	}
	items, next := page(s, q, all)
	out := map[string]any{"roleList": items}
	if next != "" {
		out["nextToken"] = next
	}
	reply(w, out)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("Logout")
	tok, ok := s.bearer(w, r)
	if !ok {
		return
	}
	delete(s.access, tok)
	w.WriteHeader(http.StatusOK)
}
