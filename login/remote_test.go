package login_test

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/credd/credd/internal/signintest"
	"github.com/credd/credd/login"
)

// TestRemoteFlow: a cross-device sign-in as a Session's flow: the URL
// leads to the confirmation page, a wrong code leaves the flow waiting, the
// right one signs in and the session is shared in the AWS CLI's cache.
func TestRemoteFlow(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	dir := filepath.Join(t.TempDir(), "cache")
	s, wg, _ := signInSession(t, signInMethod(f, dir))
	fl, err := s.Begin(t.Context(), wg, login.FlowOptions{Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	if !fl.Remote || fl.Device {
		t.Fatalf("flow remote=%v device=%v", fl.Remote, fl.Device)
	}
	if again, _ := s.Begin(t.Context(), wg, login.FlowOptions{Remote: true}); again != fl {
		t.Error("a second Begin started another flow")
	}
	resp, err := http.Get(fl.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code, ok := signintest.PageCode(string(page))
	if !ok {
		t.Fatalf("no code on %s", page)
	}
	if err := fl.Submit(t.Context(), signintest.VerificationCode("c", "other")); !errors.Is(err, login.ErrWrongCode) {
		t.Fatalf("wrong code: %v, want ErrWrongCode", err)
	}
	select {
	case <-fl.Done():
		t.Fatal("a wrong code ended the flow")
	default:
	}
	if err := fl.Submit(t.Context(), code); err != nil {
		t.Fatalf("right code: %v (refused %q)", err, f.Refusals())
	}
	if err := fl.Err(); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Tokens(t.Context())
	if err != nil || tok.Extra[login.ExtraClientID] != login.SignInClientCrossDevice {
		t.Fatalf("tokens after the sign-in: %v %v", tok.Extra[login.ExtraClientID], err)
	}
	c, err := login.ReadLoginCache(login.LoginCacheFile(dir, f.Session()))
	if err != nil || c.RefreshToken != tok.RefreshToken {
		t.Errorf("cache after the sign-in: %v", err)
	}
	if err := fl.Submit(t.Context(), code); !errors.Is(err, login.ErrFlowEnded) {
		t.Errorf("a code after the end: %v, want ErrFlowEnded", err)
	}
}

// TestRemoteFlowNeedsSignIn: other providers have no cross-device flow.
func TestRemoteFlowNeedsSignIn(t *testing.T) {
	s := login.New(t.Context(), "oidc/x", &login.OIDC{Issuer: "http://127.0.0.1:1"}, login.Options{})
	var wg sync.WaitGroup
	defer wg.Wait()
	_, err := s.Begin(t.Context(), &wg, login.FlowOptions{Remote: true})
	if !errors.Is(err, login.ErrNoRemote) {
		t.Errorf("Begin = %v, want ErrNoRemote", err)
	}
}
