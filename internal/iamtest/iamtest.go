// Package iamtest is a fake IAM for tests of access key rotation:
// ListAccessKeys, CreateAccessKey and DeleteAccessKey in IAM's query
// protocol, and sts:GetCallerIdentity on the same server (point both the
// IAM and the STS endpoint at URL). The AWS SDK's own iam and sts clients
// parse every answer in the tests that use it, which proves the wire
// format.
//
// It keeps users and their keys, and knows the caller by the access key ID
// in the request's SigV4 Authorization header (it does not verify the
// signature: tests check the secret by reading back what credd stored). A
// request signed with a key it does not know, or a deleted or inactive
// one, is refused as IAM and STS refuse it. New keys can be made to be
// refused by GetCallerIdentity for a number of calls, as real keys are for
// a few seconds while IAM's changes propagate.
package iamtest

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

// Key is one access key.
type Key struct {
	User    string
	ID      string
	Secret  string
	Status  string // Active or Inactive
	Created time.Time
	// unpropagated counts the GetCallerIdentity calls still to refuse.
	unpropagated int
}

// Credentials are the key as credd holds long-term keys.
func (k Key) Credentials() cred.Credentials {
	return cred.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret, Kind: cred.KindLongTermIAMKey}
}

// Call is one request the fake served.
type Call struct {
	Action string
	KeyID  string // the access key ID that signed it
	Params map[string]string
	Code   string // the error code answered, "" for success
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	URL     string
	Account string

	mu        sync.Mutex
	keys      map[string]*Key // by ID
	order     []string        // IDs in creation order
	serial    int
	propagate int
	fail      map[string]failure
	calls     []Call
	created   time.Time
}

type failure struct {
	code   string
	status int
	times  int // -1: until cleared
}

// New starts a fake IAM (and STS GetCallerIdentity) that stops when the
// test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{Account: "111122223333", keys: map[string]*Key{}, fail: map[string]failure{},
		created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddKey gives user a new active key (the user exists once it has a key)
// and returns it.
func (s *Server) AddKey(user string) Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addKey(user, 0)
}

func (s *Server) addKey(user string, unpropagated int) *Key {
	s.serial++
	k := &Key{
		User: user, ID: fmt.Sprintf("AKIAFAKE%012d", s.serial), Secret: fmt.Sprintf("secret-%d-DO-NOT-LEAK", s.serial),
		Status: "Active", Created: s.created.Add(time.Duration(s.serial) * time.Hour), unpropagated: unpropagated,
	}
	s.keys[k.ID] = k
	s.order = append(s.order, k.ID)
	return k
}

// Deactivate makes a key inactive.
func (s *Server) Deactivate(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id].Status = "Inactive"
}

// Propagation makes every key created later be refused by
// GetCallerIdentity (InvalidClientTokenId) this many times first.
func (s *Server) Propagation(calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.propagate = calls
}

// Fail makes the next times calls of action answer with this error code
// and HTTP status (times -1: until Fail(action, "", 0, 0)).
func (s *Server) Fail(action, code string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.fail, action)
		return
	}
	s.fail[action] = failure{code: code, status: status, times: times}
}

// Keys returns user's keys in creation order.
func (s *Server) Keys(user string) []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Key
	for _, id := range s.order {
		if k, ok := s.keys[id]; ok && k.User == user {
			out = append(out, *k)
		}
	}
	return out
}

// Calls returns every request served so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Actions returns the action of every request so far, e.g.
// "GetCallerIdentity", "ListAccessKeys", ...
func (s *Server) Actions() []string {
	var out []string
	for _, c := range s.Calls() {
		out = append(out, c.Action)
	}
	return out
}

var reCredential = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

const (
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	params := map[string]string{}
	for k := range r.PostForm {
		params[k] = r.PostForm.Get(k)
	}
	action := params["Action"]
	keyID := ""
	if m := reCredential.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		keyID = m[1]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Action: action, KeyID: keyID, Params: params}
	status, code, msg, body := s.serve(action, keyID, params)
	call.Code = code
	s.calls = append(s.calls, call)
	ns := iamNS
	if action == "GetCallerIdentity" {
		ns = stsNS
	}
	w.Header().Set("Content-Type", "text/xml")
	if code != "" {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-%d</RequestId></ErrorResponse>`,
			ns, code, html.EscapeString(msg), len(s.calls))
		return
	}
	fmt.Fprintf(w, `<%sResponse xmlns="%s">%s<ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata></%sResponse>`, action, ns, body, len(s.calls), action)
}

// serve answers one call, with s.mu held: an HTTP status and error code
// and message, or the result element.
func (s *Server) serve(action, keyID string, params map[string]string) (status int, code, msg, body string) {
	if f, ok := s.fail[action]; ok {
		if f.times > 0 {
			f.times--
			if f.times == 0 {
				delete(s.fail, action)
			} else {
				s.fail[action] = f
			}
		}
		return f.status, f.code, "injected failure of " + action, ""
	}
	caller, ok := s.keys[keyID]
	if !ok || caller.Status != "Active" {
		return http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.", ""
	}
	user := caller.User
	if u := params["UserName"]; u != "" {
		user = u
	}
	switch action {
	case "GetCallerIdentity":
		if caller.unpropagated > 0 {
			caller.unpropagated--
			return http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.", ""
		}
		return 0, "", "", fmt.Sprintf(`<GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/%s</Arn><UserId>AIDAFAKE%s</UserId><Account>%s</Account></GetCallerIdentityResult>`,
			s.Account, html.EscapeString(caller.User), strings.ToUpper(caller.User), s.Account)
	case "ListAccessKeys":
		var b strings.Builder
		for _, id := range s.order {
			if k, ok := s.keys[id]; ok && k.User == user {
				fmt.Fprintf(&b, `<member><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>%s</Status><CreateDate>%s</CreateDate></member>`,
					html.EscapeString(k.User), k.ID, k.Status, k.Created.Format(time.RFC3339))
			}
		}
		return 0, "", "", fmt.Sprintf(`<ListAccessKeysResult><UserName>%s</UserName><AccessKeyMetadata>%s</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>`,
			html.EscapeString(user), b.String())
	case "CreateAccessKey":
		n := 0
		for _, k := range s.keys {
			if k.User == user {
				n++
			}
		}
		if n >= 2 {
			return http.StatusConflict, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", ""
		}
		k := s.addKey(user, s.propagate)
		return 0, "", "", fmt.Sprintf(`<CreateAccessKeyResult><AccessKey><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><SecretAccessKey>%s</SecretAccessKey><CreateDate>%s</CreateDate></AccessKey></CreateAccessKeyResult>`,
			html.EscapeString(user), k.ID, k.Secret, k.Created.Format(time.RFC3339))
	case "DeleteAccessKey":
		k, ok := s.keys[params["AccessKeyId"]]
		if !ok || k.User != user {
			return http.StatusNotFound, "NoSuchEntity", "The Access Key with id " + params["AccessKeyId"] + " cannot be found.", ""
		}
		delete(s.keys, k.ID)
		return 0, "", "", ""
	}
	return http.StatusBadRequest, "InvalidAction", "unknown action " + action, ""
}

// Users returns the users that have keys, sorted.
func (s *Server) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, k := range s.keys {
		seen[k.User] = true
	}
	var out []string
	for u := range seen {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}
