// Package federationtest is a fake AWS federation endpoint
// (https://signin.aws.amazon.com/federation) for tests. It speaks the real
// endpoint's shape: GET ?Action=getSigninToken&Session={json}[&SessionDuration=N]
// answers {"SigninToken": "..."}, and GET ?Action=login&Issuer=&Destination=&SigninToken=
// redirects to the destination, so a test can follow a link to its end.
// AWS has no local peer for this endpoint; the fake records every request
// for tests to check what credd sent.
package federationtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Session is the Session parameter of getSigninToken.
type Session struct {
	SessionID    string `json:"sessionId"`
	SessionKey   string `json:"sessionKey"`
	SessionToken string `json:"sessionToken"`
}

// Request is one getSigninToken call as the fake understood it.
type Request struct {
	Session         Session
	SessionDuration string // "" when absent
	Query           url.Values
}

// Server is the fake endpoint. URL is the endpoint itself (…/federation).
type Server struct {
	URL string

	mu       sync.Mutex
	requests []Request
	tokens   map[string]bool
	refuse   map[string]bool // session IDs refused with SessionDuration
	answer   *answer
}

type answer struct {
	status      int
	contentType string
	body        string
}

// New starts a fake federation endpoint that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{tokens: map[string]bool{}, refuse: map[string]bool{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/federation"
	return s
}

// Answer makes every later getSigninToken call answer with this status,
// content type and body (status 0 restores the normal answers).
func (s *Server) Answer(status int, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.answer = nil
		return
	}
	s.answer = &answer{status, contentType, body}
}

// RefuseSessionDuration makes the endpoint refuse a SessionDuration with the
// credentials of this access key ID, as the real one does for role-chained
// sessions.
func (s *Server) RefuseSessionDuration(accessKeyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[accessKeyID] = true
}

// Requests returns every getSigninToken call so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/federation" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	switch q.Get("Action") {
	case "getSigninToken":
		s.getSigninToken(w, q)
	case "login":
		s.mu.Lock()
		ok := s.tokens[q.Get("SigninToken")]
		s.mu.Unlock()
		dest, err := url.Parse(q.Get("Destination"))
		if !ok || err != nil || dest.Scheme != "https" || q.Get("Issuer") == "" {
			http.Error(w, "<html><body>Sign-in failed</body></html>", http.StatusBadRequest)
			return
		}
		w.Header().Set("Location", dest.String())
		w.WriteHeader(http.StatusFound)
	default:
		http.Error(w, "<html><body>Bad Request</body></html>", http.StatusBadRequest)
	}
}

func (s *Server) getSigninToken(w http.ResponseWriter, q url.Values) {
	var sess Session
	dec := json.NewDecoder(strings.NewReader(q.Get("Session")))
	dec.DisallowUnknownFields()
	err := dec.Decode(&sess)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Session: sess, SessionDuration: q.Get("SessionDuration"), Query: q})
	if a := s.answer; a != nil {
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
		return
	}
	if err != nil || sess.SessionID == "" || sess.SessionKey == "" || sess.SessionToken == "" {
		http.Error(w, "<html><body>Bad Request: Session</body></html>", http.StatusBadRequest)
		return
	}
	if d := q.Get("SessionDuration"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 || s.refuse[sess.SessionID] {
			http.Error(w, "<html><body>Bad Request: SessionDuration</body></html>", http.StatusBadRequest)
			return
		}
	}
	token := fmt.Sprintf("signin-token-%d", len(s.requests))
	s.tokens[token] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"SigninToken": token})
}
