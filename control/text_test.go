package control

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStatusSummary(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		st   Status
		want string
	}{
		{"nothing known", Status{}, "running, 0 profile(s)"},
		{"who, and profiles by state in the order of their life, others sorted after",
			Status{PID: 77, Started: now.Add(-65 * time.Minute), Version: "1.2.3", Profiles: []ProfileStatus{
				{State: "error"}, {State: "zombie"}, {State: "fresh"}, {State: "login-required"}, {State: "fresh"}, {State: "asleep"}, {State: "mfa-required"},
			}},
			"running (pid 77, up 1h5m, credd 1.2.3), 7 profile(s): 2 fresh, 1 login-required, 1 mfa-required, 1 error, 1 asleep, 1 zombie"},
		{"a start time ahead of the clock is not an uptime", Status{Started: now.Add(time.Minute)}, "running, 0 profile(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.st.Summary(now); got != tc.want {
				t.Errorf("Summary = %q\nwant      %q", got, tc.want)
			}
		})
	}
}

func TestStatusSignIns(t *testing.T) {
	login := func(profile string) string {
		return map[string]string{"dev": "credd login --sso-session corp", "app": "credd login --provider okta", "console": "credd login --signin --profile console"}[profile]
	}
	st := Status{
		Sessions: []SessionStatus{{Name: "sso/corp", State: "login-required"}, {Name: "oidc/okta", State: "signed-in"}, {Name: "oidc/azure", State: "login-required"},
			{Name: "signin/111122223333/assumed-role/Admin/alice", Kind: "signin", State: "login-required", Login: "credd login --signin --profile console"},
			{Name: "sso/named", State: "login-required", Login: "credd login --sso-session named"},
			{Name: "mfa/AKIAEXAMPLE/alice-0a1b", Kind: "mfa", State: "mfa-required", Login: "credd login --profile mfa"}},
		Profiles: []ProfileStatus{{Name: "dev", State: "login-required"}, {Name: "app", State: "login-required"}, {Name: "keys", State: "fresh"}, {Name: "mfa", State: "mfa-required"},
			{Name: "console", State: "login-required"}},
	}
	want := []string{
		"session sso/corp: run `credd login --sso-session corp`", // from a daemon that names no command: by the session's name
		"session oidc/azure: run `credd login --provider azure`",
		"session signin/111122223333/assumed-role/Admin/alice: run `credd login --signin --profile console`",
		"session sso/named: run `credd login --sso-session named`",
		"profile app: run `credd login --provider okta`", // dev's session is listed already
		"profile mfa (MFA code): run `credd login --profile mfa`",
	}
	if got := st.SignIns(login); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("SignIns:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestStatusWriteTable(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	expires, refreshed := now.Add(42*time.Minute), now.Add(-30*time.Second)
	st := Status{Version: "1.2.3", PID: 7, Listen: "127.0.0.1:9955", Started: now.Add(-2 * time.Hour), DefaultProfile: "dev",
		Profiles: []ProfileStatus{{Name: "dev", Source: "sso_session", State: "fresh", Expires: &expires, LastRefresh: &refreshed},
			{Name: "ops", Source: "aws_profile", State: "error", LastError: "line one\n  line two " + strings.Repeat("x", 100)}},
		Store: StoreStatus{Kind: "file", Problems: []string{"sso/old: unreadable"}}, Problems: []string{"the clock is 5m off"}}
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		st.WriteTable(&b, now, color)
		out := b.String()
		for _, want := range []string{
			"credd 1.2.3 (pid 7) on 127.0.0.1:9955, up 2h0m; default profile \"dev\"\n",
			" 42m ", "30s ago", "never", "line one line two xxx", "…\n",
			"SESSIONS (store: file)\n  none\n", "  problem: sso/old: unreadable\n", "\nproblem: the clock is 5m off\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("color %v: output lacks %q:\n%s", color, want, out)
			}
		}
		if has := strings.Contains(out, "\x1b[31merror\x1b[0m"); has != color {
			t.Errorf("color %v: the error state painted: %v\n%s", color, has, out)
		}
	}
}

// TestStatusWriteTableSessionLogin: every session that needs a sign-in,
// of whatever kind, has a line with the command that signs it in, under
// the table, whole however long its error; the others have none.
func TestStatusWriteTableSessionLogin(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	long := "sign-in required: " + strings.Repeat("the provider said why at length, ", 5)
	st := Status{Store: StoreStatus{Kind: "file"}, Sessions: []SessionStatus{
		{Name: "oidc/okta", Kind: "oidc", State: "signed-in"},
		{Name: "sso/corp", Kind: "sso", State: "login-required", Error: long + "(run `credd login --sso-session corp`)", Login: "credd login --sso-session corp"},
		{Name: "signin/111122223333/assumed-role/Admin/alice", Kind: "signin", State: "login-required", Error: long, Login: "credd login --signin --profile console",
			OnDemand: &OnDemandStatus{Mode: "browser", InProgress: true}},
		{Name: "mfa/AKIAEXAMPLE/alice-0a1b", Kind: "mfa", State: "mfa-required", Error: "the MFA session ended", Login: "credd login --profile admin"},
	}}
	var b bytes.Buffer
	st.WriteTable(&b, now, false)
	out := b.String()
	for _, want := range []string{
		"\n  sso/corp: login-required: run `credd login --sso-session corp`\n",
		"\n  signin/111122223333/assumed-role/Admin/alice: login-required: run `credd login --signin --profile console`\n" +
			"  signin/111122223333/assumed-role/Admin/alice: on demand (browser): sign-in in progress\n",
		"\n  mfa/AKIAEXAMPLE/alice-0a1b: mfa-required: run `credd login --profile admin`\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "  oidc/okta: ") {
		t.Errorf("a signed-in session has a line:\n%s", out)
	}
}
