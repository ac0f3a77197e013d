package control

import (
	"context"
	"errors"
	"testing"

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
