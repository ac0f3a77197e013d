package cli

import (
	"strings"
	"testing"

	"github.com/credd/credd/control"
)

// TestDoctorWithoutDaemon: with no daemon, doctor still prints every
// finding but exits 3, as client commands do; with a daemon, a failure
// exits 1, and the daemon's own identification of this user's control
// and loopback connections is checked.
func TestDoctorWithoutDaemon(t *testing.T) {
	const yaml = "sts: {endpoint: 'http://127.0.0.1:1'}\nprofiles:\n  dev: {aws_profile: dev}\n"
	for _, tc := range []struct {
		name     string
		f        func(t *testing.T) *fixture
		code     int
		want     []string // in stdout
		wantErr  []string // in stderr
		unwanted []string // in stdout
	}{
		{"daemon not running", func(t *testing.T) *fixture {
			return newFixture(t, "listen: 127.0.0.1:1\n"+yaml)
		}, ExitNotRunning,
			[]string{"[FAIL] daemon not running", "fix: start it: `credd serve`", "127.0.0.1:1 is ", "[ok  ] no environment variable shadows credd", "clock skew not checked"},
			[]string{"credd is not running", "credd serve"}, nil},
		{"daemon not running and a shadowing variable", func(t *testing.T) *fixture {
			f := newFixture(t, "listen: 127.0.0.1:1\n"+yaml)
			f.env["AWS_ACCESS_KEY_ID"] = "AKIASHADOW"
			return f
		}, ExitNotRunning,
			[]string{"[FAIL] daemon not running", "[FAIL] AWS_ACCESS_KEY_ID"},
			[]string{"2 check(s) failed", "credd is not running"}, nil},
		{"daemon running, a shadowing variable", func(t *testing.T) *fixture {
			f := liveFixture(t, yaml, "[profile dev]\nregion = eu-west-1\n", "")
			f.env["AWS_ACCESS_KEY_ID"] = "AKIASHADOW"
			return f
		}, ExitFailure,
			[]string{"[ok  ] daemon running", "[FAIL] AWS_ACCESS_KEY_ID", "[ok  ] the daemon names its control channel's callers (this doctor: user"},
			[]string{"check(s) failed"}, []string{"daemon not running"}},
		{"daemon running, on the address the config gives", func(t *testing.T) *fixture {
			f := liveFixture(t, yaml, "[profile dev]\nregion = eu-west-1\n", "")
			st, err := control.NewClient(f.stateDir).Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			f.env["CREDD_LISTEN"] = st.Listen
			return f
		}, ExitOK,
			[]string{"[ok  ] daemon running", "[ok  ] endpoint answers on 127.0.0.1:", "[ok  ] the daemon names its control channel's callers (this doctor: user",
				"[ok  ] the daemon knows this user's connections on 127.0.0.1:", "[ok  ] caller identification: "},
			nil, []string{"[FAIL]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f(t)
			code, out, errOut := f.run(t, "--config", f.cfgPath, "doctor")
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, w := range tc.unwanted {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
		})
	}
}
