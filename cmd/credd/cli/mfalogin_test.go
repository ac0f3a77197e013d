package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/mfa"
)

const mfaSerial = "arn:aws:iam::111122223333:mfa/tester"

// mfaBackend is a daemon whose profile "keys" rests on an MFA device: it
// asks for a code, accepts 123456, and refuses any other as STS does.
type mfaBackend struct {
	loginBackend
	mu   sync.Mutex
	mfas []control.MFARequest
}

func (b *mfaBackend) MFALogin(_ context.Context, req control.MFARequest) (control.MFAResult, error) {
	b.mu.Lock()
	b.mfas = append(b.mfas, req)
	b.mu.Unlock()
	res := control.MFAResult{Profile: req.Profile}
	if req.Profile != "keys" {
		return res, nil
	}
	res.MFA, res.Serial = true, mfaSerial
	switch req.Code {
	case "":
		res.NeedCode = true
	case "123456":
		end := time.Date(2030, 1, 2, 20, 0, 0, 0, time.UTC)
		res.Session, res.Expires, res.Ready = "mfa/AKIAKEYS/tester-1234abcd", &end, []string{"admin", "keys"}
	default:
		return res, cred.Errorf(cred.ErrMFARequired, "profile keys: STS refused the MFA code for %s: MultiFactorAuthentication failed with invalid MFA one time pass code.", mfaSerial)
	}
	return res, nil
}

func (b *mfaBackend) requests() []control.MFARequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.mfas)
}

func serveMFABackend(t *testing.T) (string, *mfaBackend) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	state := filepath.Join(dir, "s")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "credd.yaml")
	cfg := "state_dir: " + state + "\nidentity_providers:\n  okta: {issuer: \"https://idp.example.com\", client_id: c}\n" +
		"profiles:\n  app: {identity_provider: okta, role_arn: \"arn:aws:iam::111122223333:role/app\"}\n" +
		"  keys: {aws_profile: keys, mfa_serial: \"" + mfaSerial + "\"}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &mfaBackend{}
	serveControl(t, state, b)
	return cfgPath, b
}

func TestLoginWithAnMFACode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		code    int
		asked   []control.MFARequest // what the daemon was asked
		signIns int                  // sign-ins (POST /v1/login) asked
		out     []string
	}{
		{"prompted on the terminal", []string{"--profile", "keys"}, "123456\n", 0,
			[]control.MFARequest{{Profile: "keys"}, {Profile: "keys", Code: "123456"}}, 0,
			[]string{"MFA code for " + mfaSerial + ": ", "MFA session for " + mfaSerial + " started (mfa/AKIAKEYS/tester-1234abcd)", "Ready: admin, keys"}},
		{"a typed code that is not 6 digits is never sent", []string{"--profile", "keys"}, "12345\n", ExitUsage,
			[]control.MFARequest{{Profile: "keys"}}, 0, []string{"an MFA code is 6 digits"}},
		{"nothing typed", []string{"--profile", "keys"}, "", ExitUsage,
			[]control.MFARequest{{Profile: "keys"}}, 0, []string{"no MFA code read", "--mfa-code"}},
		{"--mfa-code for scripts", []string{"--profile", "keys", "--mfa-code", "123456"}, "", 0,
			[]control.MFARequest{{Profile: "keys", Code: "123456"}}, 0, []string{"MFA session for " + mfaSerial + " started"}},
		{"--mfa-code that is not a code is never sent", []string{"--profile", "keys", "--mfa-code", "12345a"}, "", ExitUsage,
			nil, 0, []string{"--mfa-code: an MFA code is 6 digits"}},
		{"a refused code: non-zero with STS's reason", []string{"--profile", "keys", "--mfa-code", "999999"}, "", ExitLoginRequired,
			[]control.MFARequest{{Profile: "keys", Code: "999999"}}, 0, []string{"MultiFactorAuthentication failed", "not tried again", "credd login --profile keys"}},
		{"--mfa-code without --profile", []string{"--provider", "okta", "--mfa-code", "123456"}, "", ExitUsage,
			nil, 0, []string{"--mfa-code needs --profile"}},
		{"--mfa-code on a profile without MFA", []string{"--profile", "app", "--mfa-code", "123456"}, "", ExitUsage,
			[]control.MFARequest{{Profile: "app", Code: "123456"}}, 0, []string{"rests on no MFA device"}},
		{"a profile without MFA signs in as before", []string{"--profile", "app", "--device"}, "", 0,
			[]control.MFARequest{{Profile: "app"}}, 1, []string{"Signed in to oidc/okta"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgPath, b := serveMFABackend(t)
			var out bytes.Buffer
			io := IO{In: strings.NewReader(tc.stdin), Out: &out, Err: &out,
				Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}
			code := Run(t.Context(), append([]string{"--config", cfgPath, "login"}, tc.args...), io)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out.String())
			}
			if got := b.requests(); !slices.Equal(got, tc.asked) {
				t.Errorf("daemon asked %+v, want %+v", got, tc.asked)
			}
			if got := len(b.loginBackend.requests()); got != tc.signIns {
				t.Errorf("%d sign-ins asked, want %d", got, tc.signIns)
			}
			for _, w := range tc.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestLoginProfileWithADaemonWithoutMFA: a daemon that starts no MFA
// sessions (404 on /v1/mfa) still signs --profile in.
func TestLoginProfileWithADaemonWithoutMFA(t *testing.T) {
	cfgPath, b := serveLoginBackend(t)
	var out bytes.Buffer
	io := IO{In: strings.NewReader(""), Out: &out, Err: &out, Getenv: func(string) string { return "" }, Environ: func() []string { return nil }}
	if code := Run(t.Context(), []string{"--config", cfgPath, "login", "--profile", "app", "--device"}, io); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if reqs := b.requests(); len(reqs) != 1 || reqs[0].Profile != "app" {
		t.Errorf("sign-ins %+v, want one for app", reqs)
	}
}

// TestMFACodeErrorsKeepTheirCause: the CLI's errors about a code wrap what
// refused it (%w), so that callers tell them apart by errors.Is, and the
// exit code stays the one given.
func TestMFACodeErrorsKeepTheirCause(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin io.Reader
		want  []error
	}{
		{"a code that is not six digits", strings.NewReader("12345a\n"), []error{mfa.ErrBadCode, cred.ErrInvalid}},
		{"no code read", strings.NewReader(""), []error{io.EOF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{io: IO{In: tc.stdin, Out: io.Discard, Err: io.Discard}}
			_, err := a.askCode(mfaSerial)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("askCode: %v, want an error that is %v", err, w)
				}
			}
			if c := exitCode(err); c != ExitUsage {
				t.Errorf("exit code %d, want %d", c, ExitUsage)
			}
		})
	}
}
