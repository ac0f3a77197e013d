package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

// signinBackend is a daemon in a cross-device sign-in: it takes the code
// "right" (signed in), refuses others, and reports pending until then.
type signinBackend struct {
	loginBackend
	once  sync.Once
	done  chan struct{}
	codes []string
}

func (b *signinBackend) Login(ctx context.Context, r control.LoginRequest) (control.LoginStart, error) {
	st, err := b.loginBackend.Login(ctx, r)
	st.Session, st.URL, st.Remote = "signin/111122223333/user/alice", "https://eu-west-1.signin.aws.amazon.com/v1/authorize?client_id=x", true
	return st, err
}

func (b *signinBackend) LoginStatus(ctx context.Context, id string, wait time.Duration) (control.LoginState, error) {
	select {
	case <-b.done:
		return control.LoginState{ID: id, State: "done", Ready: []string{"console"}}, nil
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return control.LoginState{ID: id, State: "pending"}, nil
}

func (b *signinBackend) SubmitLoginCode(_ context.Context, id, code string) (control.LoginState, error) {
	b.mu.Lock()
	b.codes = append(b.codes, code)
	b.mu.Unlock()
	if code != "right" {
		return control.LoginState{}, cred.Errorf(cred.ErrInvalid, "that is not the code this sign-in waits for")
	}
	b.once.Do(func() { close(b.done) })
	return control.LoginState{ID: id, State: "done", Ready: []string{"console"}}, nil
}

// TestLoginSignInRemote: without a display, `credd login --signin` asks
// for the cross-device sign-in, prints the URL and passes each pasted code
// until one signs in; --remote with --device is a usage error.
func TestLoginSignInRemote(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir, err := os.MkdirTemp("", "cd") // short: a Unix socket path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	state := filepath.Join(dir, "s")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "credd.yaml")
	if err := os.WriteFile(cfgPath, []byte("state_dir: "+state+"\nprofiles:\n  console: {login_session: \"arn:aws:iam::111122223333:user/alice\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &signinBackend{done: make(chan struct{})}
	serveControl(t, state, b)
	run := func(in string, args ...string) (int, string) {
		io := IO{In: strings.NewReader(in), Out: &bytes.Buffer{}, Err: &bytes.Buffer{},
			Getenv: func(k string) string { return overSSH[k] }, Environ: func() []string { return nil }}
		code := Run(t.Context(), append([]string{"--config", cfgPath, "login", "--signin"}, args...), io)
		return code, io.Out.(*bytes.Buffer).String() + io.Err.(*bytes.Buffer).String()
	}
	if code, out := run("", "--remote", "--device"); code != ExitUsage || !strings.Contains(out, "choose one") {
		t.Errorf("--remote --device: exit %d:\n%s", code, out)
	}
	// Before any sign-in (the fake stays signed in once it is).
	if code, out := run("", "--remote"); code != ExitFailure || !strings.Contains(out, "no code was pasted") {
		t.Errorf("no input: exit %d:\n%s", code, out)
	}

	code, out := run("\nwrong\nright\n")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	reqs := b.requests()
	if len(reqs) != 2 || !reqs[1].SignIn || !reqs[1].Remote || reqs[1].Device {
		t.Errorf("daemon asked %+v, want cross-device AWS Sign-Ins", reqs)
	}
	for _, w := range []string{"open this address on any device", "https://eu-west-1.signin.aws.amazon.com/v1/authorize", "paste it again", "Ready: console"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Join(b.codes, ",") != "wrong,right" {
		t.Errorf("codes passed %q, want wrong then right (blank lines skipped)", b.codes)
	}
}
