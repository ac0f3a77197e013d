// Package signintest is a fake AWS Sign-In service for tests: the OAuth
// endpoints that `aws login` uses (AWS CLI ≥ 2.32). It serves the browser's
// /v1/authorize (approving at once and redirecting back with a code, to a
// loopback callback or, for the cross-device client, to its own
// /v1/sessions/confirmation page that shows the code to paste), and
// CreateOAuth2Token (POST /v1/token) with the authorization code and
// refresh token grants.
//
// Every token request must carry a DPoP proof (RFC 9449), which the fake
// verifies in full: an ES256 JWT of type dpop+jwt whose header holds the
// P-256 public key, a valid signature over it, htm POST, htu the URL the
// request was sent to, iat within ProofWindow of now, and a jti never seen
// before. Refresh tokens are bound to the thumbprint (RFC 7638) of the key
// that obtained them, so only that key renews them, and rotate on each use:
// a refresh token that was used is refused afterwards. PKCE (SHA-256, as
// the AWS CLI sends it) is checked at the code exchange.
//
// Requests and errors follow the service's restJson1 shapes (the error
// type in X-Amzn-Errortype, {"error", "message"} in the body); the tests of
// this package prove them with the AWS SDK's own signin client and its
// logincreds provider, whose DPoP proofs the fake must accept.
package signintest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client IDs of the AWS CLI's `aws login` (awscli/customizations/login):
// the browser flow on this machine, and the cross-device flow (--remote).
const (
	ClientSameDevice  = "arn:aws:signin:::devtools/same-device"
	ClientCrossDevice = "arn:aws:signin:::devtools/cross-device"
)

// DefaultSession is the login session (the ID token's sub) the fake signs
// in when Options.Session is empty.
const DefaultSession = "arn:aws:sts::111122223333:assumed-role/Admin/alice"

// Prefixes of the secrets the fake issues, so tests can assert that none
// reaches a log or an error.
const (
	PrefixCode    = "signintest-code-"
	PrefixRefresh = "signintest-refresh-"
	PrefixSecret  = "signintest-secret-"
	PrefixSession = "signintest-session-"
)

// Credentials are the AWS credentials a token answer carries.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Options shape the fake; the zero value works.
type Options struct {
	// Session is the login session ARN of the signed-in user (default
	// DefaultSession); its account is the credentials' account.
	Session string
	// AccessTTL is the life of the credentials (expiresIn); default 15m,
	// the service's maximum.
	AccessTTL time.Duration
	// SessionTTL is how long after the sign-in refresh tokens renew the
	// credentials; default 12h.
	SessionTTL time.Duration
	// CodeTTL is the life of an authorization code; default 5m.
	CodeTTL time.Duration
	// ProofWindow is how far a proof's iat may be from now; default 60s.
	ProofWindow time.Duration
	// Issue mints the credentials of each token answer (a test's STS, say);
	// nil: made-up ones with the Prefix constants.
	Issue func(ctx context.Context) (Credentials, error)
	// Now is the fake's clock; nil: time.Now.
	Now func() time.Time
}

// Server is the fake. It is an http.Handler.
type Server struct {
	URL string
	o   Options

	mu        sync.Mutex
	idKey     *ecdsa.PrivateKey // signs ID tokens
	codes     map[string]*authCode
	refresh   map[string]*grant // refresh token -> its session
	jtis      map[string]bool
	counts    map[string]int
	refused   []string // why each refused token request was refused
	ended     string   // OAuth2 error code every refresh now gets, if set
	throttle  int
	seq       int
	lastCreds Credentials
}

type authCode struct {
	clientID, redirect, challenge string
	expires                       time.Time
	used                          bool
}

// grant is one sign-in's refresh state.
type grant struct {
	clientID   string
	thumbprint string // of the DPoP key the refresh token is bound to
	ends       time.Time
	used       bool
}

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
// the cross-device redirect matters.
func NewHandler(o Options) *Server {
	if o.Session == "" {
		o.Session = DefaultSession
	}
	if o.AccessTTL <= 0 {
		o.AccessTTL = 15 * time.Minute
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.CodeTTL <= 0 {
		o.CodeTTL = 5 * time.Minute
	}
	if o.ProofWindow <= 0 {
		o.ProofWindow = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Server{o: o, idKey: k, codes: map[string]*authCode{}, refresh: map[string]*grant{},
		jtis: map[string]bool{}, counts: map[string]int{}}
}

// Account is the AWS account of the login session.
func (s *Server) Account() string {
	parts := strings.Split(s.o.Session, ":")
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

// Session is the login session ARN the fake signs in.
func (s *Server) Session() string { return s.o.Session }

// Calls counts requests so far: "Authorize", "CreateOAuth2Token",
// "CreateOAuth2Token/<grant>" (answered or refused).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// Refusals lists why each refused token request was refused, in order.
func (s *Server) Refusals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// LastCredentials are the credentials of the latest token answer.
func (s *Server) LastCredentials() Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastCreds
}

// EndSession ends every sign-in: refresh tokens get AccessDeniedException
// TOKEN_EXPIRED, as when the console session reaches its end.
func (s *Server) EndSession() { s.endWith("TOKEN_EXPIRED") }

// ChangePassword ends every sign-in as a changed password does: refresh
// tokens get AccessDeniedException USER_CREDENTIALS_CHANGED.
func (s *Server) ChangePassword() { s.endWith("USER_CREDENTIALS_CHANGED") }

func (s *Server) endWith(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = code
}

// Throttle answers the next n token requests with TooManyRequestsError.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

func (s *Server) next(prefix string) string {
	s.seq++
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + strconv.Itoa(s.seq) + "-" + hex.EncodeToString(b)
}

// ServeHTTP routes as <region>.signin.aws.amazon.com does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/authorize":
		s.authorize(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/sessions/confirmation":
		s.confirmation(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/token":
		s.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

// isLoopbackCallback reports whether u is a loopback redirect of the
// same-device flow: http://127.0.0.1:<port>/oauth/callback (or localhost).
func isLoopbackCallback(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.Port() == "" || p.RawQuery != "" {
		return false
	}
	return (p.Hostname() == "127.0.0.1" || p.Hostname() == "localhost" || p.Hostname() == "::1") && p.Path == "/oauth/callback"
}

// authorize is the browser sign-in: it approves at once and redirects
// with a code, remembering the PKCE challenge for CreateOAuth2Token.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["Authorize"]++
	client, redirect := q.Get("client_id"), q.Get("redirect_uri")
	switch {
	case client == ClientSameDevice && isLoopbackCallback(redirect):
	case client == ClientCrossDevice && redirect == s.URL+"/v1/sessions/confirmation":
	default:
		http.Error(w, "unknown client_id, or a redirect_uri that client may not use", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirect)
	out := url.Values{"state": {q.Get("state")}}
	switch {
	case q.Get("response_type") != "code":
		out.Set("error", "unsupported_response_type")
	case q.Get("scope") != "openid":
		out.Set("error", "invalid_scope")
	case q.Get("code_challenge_method") != "SHA-256" || len(q.Get("code_challenge")) != 43:
		out.Set("error", "invalid_request")
		out.Set("error_description", "PKCE with code_challenge_method SHA-256 is required")
	case q.Get("state") == "":
		out.Set("error", "invalid_request")
		out.Set("error_description", "state is required")
	default:
		code := s.next(PrefixCode)
		s.codes[code] = &authCode{clientID: client, redirect: redirect, challenge: q.Get("code_challenge"), expires: s.o.Now().Add(s.o.CodeTTL)}
		out.Set("code", code)
	}
	back.RawQuery = out.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// VerificationCode is what the cross-device confirmation page shows for
// a code and state: base64 of "state=<state>&code=<code>", which the user
// pastes into the CLI.
func VerificationCode(code, state string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.Values{"state": {state}, "code": {code}}.Encode()))
}

// confirmation is the cross-device page: the code to paste, in an element
// with id "verification-code".
func (s *Server) confirmation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("error") != "" {
		http.Error(w, "sign-in failed: "+q.Get("error"), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>AWS Sign-In</title><p>Enter this code in your terminal:</p><code id="verification-code">%s</code>`,
		html.EscapeString(VerificationCode(q.Get("code"), q.Get("state"))))
}

// PageCode extracts the verification code from a confirmation page.
func PageCode(page string) (string, bool) {
	const open = `<code id="verification-code">`
	_, rest, ok := strings.Cut(page, open)
	if !ok {
		return "", false
	}
	code, _, ok := strings.Cut(rest, "</code>")
	return html.UnescapeString(code), ok
}

// serviceError answers as the service does: the error type in
// X-Amzn-Errortype, and the OAuth2ErrorCode and a message in the body.
func serviceError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}

// refuse answers a token request with an error and records why.
func (s *Server) refuse(w http.ResponseWriter, status int, typ, code, msg string) {
	s.refused = append(s.refused, typ+" "+code+": "+msg)
	serviceError(w, status, typ, code, msg)
}

// invalidGrant is what the service answers for an unknown, used, revoked
// or malformed grant (the message the AWS CLI shows in its issue #10613).
const invalidGrant = "The provided authorization grant is invalid, expired, revoked, or malformed"

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID     string `json:"clientId"`
		GrantType    string `json:"grantType"`
		Code         string `json:"code"`
		CodeVerifier string `json:"codeVerifier"`
		RedirectURI  string `json:"redirectUri"`
		RefreshToken string `json:"refreshToken"`
	}
	body := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	body.DisallowUnknownFields()
	decodeErr := body.Decode(&in)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["CreateOAuth2Token"]++
	s.counts["CreateOAuth2Token/"+in.GrantType]++
	if decodeErr != nil {
		s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "the body is not a token request: "+decodeErr.Error())
		return
	}
	if s.throttle > 0 {
		s.throttle--
		s.refuse(w, http.StatusTooManyRequests, "TooManyRequestsError", "INVALID_REQUEST", "Rate exceeded")
		return
	}
	if r.Header.Get("Authorization") != "" {
		s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "public clients send no Authorization header")
		return
	}
	thumb, err := s.verifyProof(r)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "invalid DPoP proof: "+err.Error())
		return
	}
	if in.ClientID != ClientSameDevice && in.ClientID != ClientCrossDevice {
		s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "unknown clientId")
		return
	}
	now := s.o.Now()
	var g *grant
	switch in.GrantType {
	case "authorization_code":
		ac, ok := s.codes[in.Code]
		switch {
		case !ok || ac.used || ac.clientID != in.ClientID:
			s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", invalidGrant)
			return
		case !ac.expires.After(now):
			s.refuse(w, http.StatusUnauthorized, "AccessDeniedException", "AUTHCODE_EXPIRED", "The authorization code has expired.")
			return
		}
		ac.used = true
		sum := sha256.Sum256([]byte(in.CodeVerifier))
		if len(in.CodeVerifier) < 43 || len(in.CodeVerifier) > 128 || base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge {
			s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "the code verifier does not match the code challenge")
			return
		}
		if in.RedirectURI != ac.redirect {
			s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "redirectUri differs from the authorization request's")
			return
		}
		g = &grant{clientID: in.ClientID, thumbprint: thumb, ends: now.Add(s.o.SessionTTL)}
	case "refresh_token":
		old, ok := s.refresh[in.RefreshToken]
		switch {
		case !ok || old.used || old.clientID != in.ClientID:
			s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", invalidGrant)
			return
		case old.thumbprint != thumb:
			s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "the DPoP key is not the one the refresh token is bound to")
			return
		case s.ended == "USER_CREDENTIALS_CHANGED":
			s.refuse(w, http.StatusForbidden, "AccessDeniedException", s.ended, "The user's credentials have changed.")
			return
		case s.ended != "" || !old.ends.After(now):
			s.refuse(w, http.StatusUnauthorized, "AccessDeniedException", "TOKEN_EXPIRED", "The refresh token has expired.")
			return
		}
		old.used = true
		g = &grant{clientID: old.clientID, thumbprint: old.thumbprint, ends: old.ends}
	default:
		s.refuse(w, http.StatusBadRequest, "ValidationException", "INVALID_REQUEST", "unsupported grantType "+strconv.Quote(in.GrantType))
		return
	}

	creds, err := s.issue(r.Context())
	if err != nil {
		s.refuse(w, http.StatusInternalServerError, "InternalServerException", "server_error", "issuing credentials: "+err.Error())
		return
	}
	s.lastCreds = creds
	rt := s.next(PrefixRefresh)
	s.refresh[rt] = g
	out := map[string]any{
		"accessToken":  map[string]string{"accessKeyId": creds.AccessKeyID, "secretAccessKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken},
		"tokenType":    "aws_sigv4",
		"expiresIn":    int(s.o.AccessTTL / time.Second),
		"refreshToken": rt,
	}
	if in.GrantType == "authorization_code" {
		out["idToken"] = s.idToken(in.ClientID, now)
	}
	// The token output is the operation's HTTP payload: the body itself.
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) issue(ctx context.Context) (Credentials, error) {
	if s.o.Issue != nil {
		return s.o.Issue(ctx)
	}
	n := s.next("")
	return Credentials{AccessKeyID: "ASIASIGNIN" + strings.ToUpper(strings.ReplaceAll(n, "-", "")[:10]),
		SecretAccessKey: PrefixSecret + n, SessionToken: PrefixSession + n}, nil
}

// idToken is the ID token of a code exchange: an ES256 JWT whose sub is
// the login session ARN (the AWS CLI names the session, and finds the
// account, from it).
func (s *Server) idToken(clientID string, now time.Time) string {
	header := b64json(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "signintest"})
	payload := b64json(map[string]any{
		"sub": s.o.Session, "session_arn": s.o.Session, "aud": clientID,
		"iss": "https://signin.aws.amazon.com/signin", "iat": now.Unix(), "exp": now.Add(s.o.AccessTTL).Unix(),
	})
	sum := sha256.Sum256([]byte(header + "." + payload))
	r, sig, err := ecdsa.Sign(rand.Reader, s.idKey, sum[:])
	if err != nil {
		panic(err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	sig.FillBytes(raw[32:])
	return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(raw)
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// verifyProof checks the request's DPoP proof and returns the thumbprint
// of its key. Called with s.mu held (jti bookkeeping).
func (s *Server) verifyProof(r *http.Request) (string, error) {
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return "", fmt.Errorf("want exactly one DPoP header, got %d", len(proofs))
	}
	parts := strings.Split(proofs[0], ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	var h struct {
		Typ string          `json:"typ"`
		Alg string          `json:"alg"`
		JWK json.RawMessage `json:"jwk"`
	}
	if err := unb64json(parts[0], &h); err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	if h.Typ != "dpop+jwt" || h.Alg != "ES256" {
		return "", fmt.Errorf("typ %q alg %q, want dpop+jwt ES256", h.Typ, h.Alg)
	}
	var jwk map[string]string
	if err := json.Unmarshal(h.JWK, &jwk); err != nil {
		return "", fmt.Errorf("jwk: %w", err)
	}
	if _, private := jwk["d"]; private {
		return "", errors.New("the jwk holds a private key")
	}
	if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
		return "", fmt.Errorf("jwk kty %q crv %q, want EC P-256", jwk["kty"], jwk["crv"])
	}
	x, errX := coordinate(jwk["x"])
	y, errY := coordinate(jwk["y"])
	if err := errors.Join(errX, errY); err != nil {
		return "", fmt.Errorf("jwk: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return "", fmt.Errorf("jwk: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", errors.New("the signature is not 64 bytes of base64url (raw r||s)")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", errors.New("bad signature")
	}
	var c struct {
		JTI string `json:"jti"`
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		IAT *int64 `json:"iat"`
	}
	if err := unb64json(parts[1], &c); err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	want := scheme + "://" + r.Host + r.URL.Path
	switch {
	case c.HTM != r.Method:
		return "", fmt.Errorf("htm %q, want %q", c.HTM, r.Method)
	case !sameHTU(c.HTU, want):
		return "", fmt.Errorf("htu %q, want %q", c.HTU, want)
	case c.IAT == nil:
		return "", errors.New("no iat")
	case c.JTI == "" || len(c.JTI) > 256:
		return "", errors.New("no jti, or one too long")
	case s.jtis[c.JTI]:
		return "", errors.New("jti used before (a replayed proof)")
	}
	if d := s.o.Now().Sub(time.Unix(*c.IAT, 0)); d > s.o.ProofWindow || d < -s.o.ProofWindow {
		return "", fmt.Errorf("iat is %s away from now", d.Round(time.Second))
	}
	s.jtis[c.JTI] = true
	return thumbprint(x, y), nil
}

// sameHTU compares the proof's htu with the request's URL: scheme, host
// and path, ignoring any query and fragment (RFC 9449 §4.3).
func sameHTU(htu, want string) bool {
	a, errA := url.Parse(htu)
	b, errB := url.Parse(want)
	return errA == nil && errB == nil && strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Host, b.Host) && a.EscapedPath() == b.EscapedPath()
}

// coordinate decodes a P-256 coordinate, padded to 32 bytes: the key is
// the same whatever leading zeros the client sent (aws-sdk-go-v2 sends
// big.Int.Bytes(), without them), and so is its thumbprint.
func coordinate(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || len(b) > 32 {
		return nil, errors.New("a coordinate is not up to 32 bytes of base64url")
	}
	return append(make([]byte, 32-len(b)), b...), nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of a P-256 public key.
func thumbprint(x, y []byte) string {
	canon := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`,
		base64.RawURLEncoding.EncodeToString(x), base64.RawURLEncoding.EncodeToString(y))
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func unb64json(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
