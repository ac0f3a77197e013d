// Package ststest is a fake STS for tests: it speaks STS's query protocol
// for the calls MinIO lacks (GetSessionToken, GetFederationToken) or where
// a test must see the request (tags, external ID, the web identity token).
// The AWS SDK's own sts client parses every answer in the tests that use
// it, which proves the wire format.
package ststest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// FederationAccount is the account of the federated users GetFederationToken
// answers with.
const FederationAccount = "111122223333"

// Server records requests and answers AssumeRole, AssumeRoleWithWebIdentity,
// GetSessionToken and GetFederationToken with credentials valid for an
// hour. It checks neither signatures nor tokens: tests assert on what it
// recorded.
type Server struct {
	URL string

	mu       sync.Mutex
	requests []url.Values
	auth     []string
	fail     string
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
	f.mu.Lock()
	f.requests = append(f.requests, r.PostForm)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	fail := f.fail
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if fail != "" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>not allowed here</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, fail)
		return
	}
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	creds := fmt.Sprintf(`<Credentials><AccessKeyId>ASIAFAKE%s</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey><SessionToken>fake-token</SessionToken><Expiration>%s</Expiration></Credentials>`, strings.ToUpper(r.PostForm.Get("Action")), exp)
	switch action := r.PostForm.Get("Action"); action {
	case "GetSessionToken":
		fmt.Fprintf(w, `<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetSessionTokenResult>%s</GetSessionTokenResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetSessionTokenResponse>`, creds)
	case "GetFederationToken":
		name := html.EscapeString(r.PostForm.Get("Name"))
		fmt.Fprintf(w, `<GetFederationTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetFederationTokenResult>%s<FederatedUser><Arn>arn:aws:sts::%s:federated-user/%s</Arn><FederatedUserId>%s:%s</FederatedUserId></FederatedUser><PackedPolicySize>6</PackedPolicySize></GetFederationTokenResult><ResponseMetadata><RequestId>r-4</RequestId></ResponseMetadata></GetFederationTokenResponse>`,
			creds, FederationAccount, name, FederationAccount, name)
	case "AssumeRole":
		arn := r.PostForm.Get("RoleArn")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>%s<AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			creds, assumedRoleARN(arn), r.PostForm.Get("RoleSessionName"), r.PostForm.Get("RoleSessionName"))
	case "AssumeRoleWithWebIdentity":
		// Sent unsigned by SDKs; the identity is the token, which real STS
		// verifies against the issuer's keys. The fake echoes its claims.
		arn, session := r.PostForm.Get("RoleArn"), r.PostForm.Get("RoleSessionName")
		claims := jwtClaims(r.PostForm.Get("WebIdentityToken"))
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>%s<SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken><Audience>%s</Audience><AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser><Provider>%s</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
			creds, html.EscapeString(claims.Sub), html.EscapeString(claims.Aud), assumedRoleARN(arn), html.EscapeString(session), html.EscapeString(session), html.EscapeString(claims.Iss))
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Code>InvalidAction</Code><Message>%s</Message></Error></ErrorResponse>`, action)
	}
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
