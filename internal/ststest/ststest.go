// Package ststest is a fake STS for tests: it speaks STS's query protocol
// for the calls MinIO lacks (GetSessionToken, GetFederationToken) or where
// a test must see the request (tags, external ID, the web identity token,
// an MFA code). The AWS SDK's own sts client parses every answer in the
// tests that use it, which proves the wire format.
//
// It keeps STS's rules that credd must follow: GetSessionToken takes
// long-term keys only, for 15 minutes to 36 hours; with an MFA device
// registered (RequireMFA), a code is checked against the device and
// accepted once; AssumeRole signed with temporary credentials (role
// chaining, or an MFA session) lasts at most an hour. Credentials issued
// in an MFA context (a GetSessionToken with a valid code, and every call
// signed with credentials from one) are told apart from others, so tests
// can prove MFA reached the role.
package ststest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/clock"
)

// FederationAccount is the account of the federated users GetFederationToken
// answers with.
const FederationAccount = "111122223333"

// Server records requests and answers AssumeRole, AssumeRoleWithWebIdentity,
// GetSessionToken and GetFederationToken with credentials valid for the
// DurationSeconds asked (STS's default when none: an hour, 12 hours for
// GetSessionToken). It checks neither signatures nor tokens, only which
// key signed: tests assert on what it recorded.
type Server struct {
	URL string

	mu       sync.Mutex
	requests []url.Values
	auth     []string
	calls    []Call
	fail     string
	empty    bool
	clock    clock.Clock
	serial   string          // the MFA device RequireMFA registered
	codes    map[string]bool // its codes: true once used
	mfaKeys  map[string]bool // access key IDs issued in an MFA context
	issued   int
}

// Call is one request the fake answered.
type Call struct {
	Action string
	Form   url.Values
	// AccessKeyID is the key that signed the call; "" when unsigned.
	AccessKeyID string
	// MFA: the call carried a code the device accepted, or was signed
	// with credentials issued in an MFA context.
	MFA bool
	// Error is the STS error code of the answer; "" when it succeeded.
	Error string
	// Issued is the access key ID of the credentials answered, if any.
	Issued string
}

// New starts a fake STS that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	f := &Server{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Fail makes every later call answer with this STS error code ("" stops).
func (f *Server) Fail(code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = code
}

// EmptyCredentials makes every later successful call answer with an empty
// <Credentials/> element (true), as a broken STS or proxy might, or with
// credentials again (false).
func (f *Server) EmptyCredentials(empty bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.empty = empty
}

// SetClock makes the fake date its credentials by c (nil: real time), so a
// test's fake clock and the fake's expirations agree.
func (f *Server) SetClock(c clock.Clock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = c
}

// RequireMFA registers the caller's MFA device: a GetSessionToken naming
// it must carry one of codes, and each code is accepted once, as STS
// refuses a code used before. A call naming another device is refused.
// Calls may add codes later (the next ones the device shows).
func (f *Server) RequireMFA(serial string, codes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serial = serial
	if f.codes == nil {
		f.codes = map[string]bool{}
	}
	for _, c := range codes {
		f.codes[c] = false
	}
}

// Calls returns every call so far.
func (f *Server) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// CallsOf returns the calls of one action.
func (f *Server) CallsOf(action string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Action == action {
			out = append(out, c)
		}
	}
	return out
}

// MFAContext reports whether the fake issued accessKeyID in an MFA
// context: from a GetSessionToken with an accepted code, or from a call
// signed with such credentials.
func (f *Server) MFAContext(accessKeyID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mfaKeys[accessKeyID]
}

// Requests returns the form of every call so far.
func (f *Server) Requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.requests...)
}

// Auth returns the Authorization header of every call so far.
func (f *Server) Auth() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form, action := r.PostForm, r.PostForm.Get("Action")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, form)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	call := Call{Action: action, Form: form, AccessKeyID: signer(r.Header.Get("Authorization"))}
	call.MFA = f.mfaKeys[call.AccessKeyID]
	defer func() { f.calls = append(f.calls, call) }()
	w.Header().Set("Content-Type", "text/xml")
	refuse := func(status int, code, msg string) {
		call.Error = code
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, code, html.EscapeString(msg))
	}
	if f.fail != "" {
		refuse(http.StatusForbidden, f.fail, "not allowed here")
		return
	}
	// STS's defaults and limits of DurationSeconds, per action.
	lo, hi, def := 900, 43200, 3600
	temporary := strings.HasPrefix(call.AccessKeyID, "ASIA")
	switch action {
	case "GetSessionToken":
		hi, def = 129600, 43200
	case "AssumeRole":
		if temporary {
			hi = 3600
		}
	}
	secs := def
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil || n < lo:
			refuse(http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", d, lo))
			return
		case n > hi && action == "AssumeRole" && temporary:
			refuse(http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
			return
		case n > hi:
			refuse(http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", d, hi))
			return
		}
		secs = n
	}
	if code := form.Get("TokenCode"); code != "" && (len(code) != 6 || strings.Trim(code, "0123456789") != "") {
		refuse(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*")
		return
	}
	if action == "GetSessionToken" {
		// Checked after the parameters, as STS does: a malformed call
		// uses up no code.
		if temporary {
			refuse(http.StatusForbidden, "AccessDenied", "Cannot call GetSessionToken with session credentials")
			return
		}
		if msg := f.checkMFA(form); msg != "" {
			refuse(http.StatusForbidden, "AccessDenied", msg)
			return
		}
		call.MFA = form.Get("TokenCode") != ""
	}
	exp := clock.Or(f.clock).Now().Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339)
	key := "ASIAFAKE" + strings.ToUpper(action)
	if call.MFA {
		// Numbered, so each set of MFA-context credentials is told apart.
		f.issued++
		key = fmt.Sprintf("ASIAMFA%s%d", strings.ToUpper(action), f.issued)
		if f.mfaKeys == nil {
			f.mfaKeys = map[string]bool{}
		}
		f.mfaKeys[key] = true
	}
	call.Issued = key
	creds := fmt.Sprintf(`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey><SessionToken>fake-token</SessionToken><Expiration>%s</Expiration></Credentials>`, key, exp)
	if f.empty {
		creds, call.Issued = "<Credentials/>", ""
	}
	switch action {
	case "GetSessionToken":
		fmt.Fprintf(w, `<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetSessionTokenResult>%s</GetSessionTokenResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetSessionTokenResponse>`, creds)
	case "GetFederationToken":
		name := html.EscapeString(form.Get("Name"))
		fmt.Fprintf(w, `<GetFederationTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetFederationTokenResult>%s<FederatedUser><Arn>arn:aws:sts::%s:federated-user/%s</Arn><FederatedUserId>%s:%s</FederatedUserId></FederatedUser><PackedPolicySize>6</PackedPolicySize></GetFederationTokenResult><ResponseMetadata><RequestId>r-4</RequestId></ResponseMetadata></GetFederationTokenResponse>`,
			creds, FederationAccount, name, FederationAccount, name)
	case "AssumeRole":
		arn := form.Get("RoleArn")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>%s<AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			creds, assumedRoleARN(arn), form.Get("RoleSessionName"), form.Get("RoleSessionName"))
	case "AssumeRoleWithWebIdentity":
		// Sent unsigned by SDKs; the identity is the token, which real STS
		// verifies against the issuer's keys. The fake echoes its claims.
		arn, session := form.Get("RoleArn"), form.Get("RoleSessionName")
		claims := jwtClaims(form.Get("WebIdentityToken"))
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>%s<SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken><Audience>%s</Audience><AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser><Provider>%s</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
			creds, html.EscapeString(claims.Sub), html.EscapeString(claims.Aud), assumedRoleARN(arn), html.EscapeString(session), html.EscapeString(session), html.EscapeString(claims.Iss))
	default:
		call.Error, call.Issued = "InvalidAction", ""
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Code>InvalidAction</Code><Message>%s</Message></Error></ErrorResponse>`, html.EscapeString(action))
	}
}

// checkMFA checks a GetSessionToken's SerialNumber and TokenCode as STS
// does, and returns why it refuses them, or "". A call without either is
// a session without MFA, which STS grants (and which credd must never
// ask for when MFA is configured: tests look for it in Calls).
func (f *Server) checkMFA(form url.Values) string {
	serial, code := form.Get("SerialNumber"), form.Get("TokenCode")
	switch {
	case serial == "" && code == "":
		return ""
	case serial == "" || code == "":
		return "SerialNumber and TokenCode go together"
	case f.serial == "" || serial != f.serial:
		return "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user."
	}
	used, ok := f.codes[code]
	switch {
	case !ok:
		return "MultiFactorAuthentication failed with invalid MFA one time pass code."
	case used:
		return "MultiFactorAuthentication failed, unable to validate MFA code. The code was already used."
	}
	f.codes[code] = true
	return ""
}

// signer is the access key ID of a SigV4 Authorization header, or "".
func signer(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(rest, "/")
	return key
}

// Last returns the form of the latest call.
func (f *Server) Last() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

// assumedRoleARN is the session ARN STS derives from a role ARN, without
// the session name.
func assumedRoleARN(roleARN string) string {
	return strings.Replace(strings.Replace(roleARN, ":iam:", ":sts:", 1), ":role/", ":assumed-role/", 1)
}

// tokenClaims are the claims STS reports back from a web identity token.
type tokenClaims struct{ Sub, Aud, Iss string }

// jwtClaims reads sub, aud and iss from a JWT's payload without verifying
// it; a token that is not a JWT yields empty claims.
func jwtClaims(token string) tokenClaims {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return tokenClaims{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}
	}
	var c struct {
		Sub string `json:"sub"`
		Iss string `json:"iss"`
		Aud any    `json:"aud"` // a string or a list of strings
	}
	if json.Unmarshal(payload, &c) != nil {
		return tokenClaims{}
	}
	out := tokenClaims{Sub: c.Sub, Iss: c.Iss}
	switch aud := c.Aud.(type) {
	case string:
		out.Aud = aud
	case []any:
		if len(aud) > 0 {
			out.Aud, _ = aud[0].(string)
		}
	}
	return out
}
