package control

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

// codeBackend takes cross-device codes: "right" signs in, anything else
// is a wrong code.
type codeBackend struct {
	fakeBackend
	got []string
}

func (c *codeBackend) SubmitLoginCode(_ context.Context, id, code string) (LoginState, error) {
	c.got = append(c.got, id+"="+code)
	if code != "right" {
		return LoginState{}, cred.Errorf(cred.ErrInvalid, "that is not the code this sign-in waits for")
	}
	return LoginState{ID: id, Session: "signin/x", State: "done", Ready: []string{"console"}}, nil
}

func TestSubmitLoginCode(t *testing.T) {
	b := &codeBackend{}
	cl := serve(t, b)
	st, err := cl.SubmitLoginCode(t.Context(), "f1.t", "right")
	if err != nil || st.State != "done" || len(st.Ready) != 1 {
		t.Fatalf("SubmitLoginCode = %+v, %v", st, err)
	}
	_, err = cl.SubmitLoginCode(t.Context(), "f1.t", "wrong")
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || !errors.Is(err, cred.ErrInvalid) {
		t.Errorf("wrong code: %v, want 400 of kind invalid", err)
	}
	_, err = cl.SubmitLoginCode(t.Context(), "f1.t", "")
	if !errors.Is(err, cred.ErrInvalid) || len(b.got) != 2 {
		t.Errorf("empty code: %v (backend saw %q), want refused before the backend", err, b.got)
	}
	// A backend without LoginCodes has no such path.
	_, err = serve(t, &fakeBackend{}).SubmitLoginCode(t.Context(), "f1.t", "right")
	if !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("without LoginCodes: %v, want 404", err)
	}
}

// TestStatusShowsOnDemand: `credd status` says what an on-demand sign-in
// is doing and which program asked for it.
func TestStatusShowsOnDemand(t *testing.T) {
	st := Status{Store: StoreStatus{Kind: "memory"}, Sessions: []SessionStatus{
		{Name: "signin/111122223333/user/alice", Kind: "signin", State: "login-required", OnDemand: &OnDemandStatus{Mode: "browser", InProgress: true, AskedBy: "aws (python3, pid 42)"}},
		{Name: "sso/corp", Kind: "sso", State: "signed-in", OnDemand: &OnDemandStatus{Mode: "browser"}},
		{Name: "oidc/okta", Kind: "oidc", State: "login-required", OnDemand: &OnDemandStatus{Mode: "browser", Pending: true, AskedBy: "terraform (pid 7)"}},
	}}
	var b strings.Builder
	st.WriteTable(&b, time.Now(), false)
	for _, want := range []string{
		"signin/111122223333/user/alice: on demand (browser): sign-in in progress, asked for by aws (python3, pid 42)",
		"oidc/okta: on demand (browser): a browser opens when the screen is unlocked, asked for by terraform (pid 7)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "sso/corp: on demand") {
		t.Errorf("a session with nothing on demand got a line:\n%s", b.String())
	}
}
