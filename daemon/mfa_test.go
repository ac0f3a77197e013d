package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/ststest"
	"github.com/credd/credd/refresh"
	"github.com/credd/credd/store"
)

const testSerial = "arn:aws:iam::111122223333:mfa/tester"

const keysFile = "[profile keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = keys-secret\n"

// mfaRig is a daemon whose profiles rest on keys with an MFA device, on a
// fake STS and clock, with a store that outlives restarts.
type mfaRig struct {
	sts    *ststest.Server
	clk    *clock.Fake
	store  *store.Memory
	notes  *recordingNotifier
	yaml   string
	shared string
}

func newMFARig(t *testing.T, yaml, shared string) *mfaRig {
	t.Helper()
	m := &mfaRig{sts: ststest.New(t), clk: clock.NewFake(time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)), store: store.NewMemory(), notes: &recordingNotifier{}, shared: shared}
	m.sts.SetClock(m.clk)
	m.sts.RequireMFA(testSerial, "123456", "234567", "345678")
	m.yaml = fmt.Sprintf("sts: {endpoint: %q}\n", m.sts.URL) + yaml
	return m
}

// start starts a daemon (again) on the rig.
func (m *mfaRig) start(t *testing.T) (*running, control.Backend) {
	t.Helper()
	r := startWith(t, m.yaml, m.shared, func(d *Deps) {
		d.Clock, d.Sessions, d.Notifier = m.clk, m.store, m.notes
	})
	return r, r.d.ControlBackend(ControlInfo{})
}

func (m *mfaRig) calls(action string) int { return len(m.sts.CallsOf(action)) }

func profileState(t *testing.T, ctl control.Backend, name string) string {
	t.Helper()
	for _, p := range ctl.Status(t.Context()).Profiles {
		if p.Name == name {
			return p.State
		}
	}
	t.Fatalf("no profile %s in status", name)
	return ""
}

func mfaLogin(t *testing.T, ctl control.Backend, req control.MFARequest) (control.MFAResult, error) {
	t.Helper()
	return ctl.(control.MFASessions).MFALogin(t.Context(), req)
}

// TestMFASessionServesEveryProfileOnTheKeys is the "done when":
// the code is asked for (503, status, one notification), a malformed code
// is not sent, a wrong one leaves the profiles mfa-required, a good one
// starts one GetSessionToken with serial, code and duration that serves
// the keys and both roles; hourly role refreshes and a restart make no
// further GetSessionToken call; logout forgets it.
func TestMFASessionServesEveryProfileOnTheKeys(t *testing.T) {
	m := newMFARig(t, `
default_profile: keys
profiles:
  keys: {aws_profile: keys, mfa_serial: "`+testSerial+`", mfa_session_duration: 10h}
  admin: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/admin"}
  ops: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/ops", duration: 4h}
`, keysFile)
	r, ctl := m.start(t)

	// Asked for before any code: 503 naming the command, mfa-required,
	// one notification for the one device, and no STS call.
	for _, p := range []string{"keys", "admin", "ops"} {
		code, body := r.get(t, "/v1/credentials/"+p, auth)
		if code != 503 || !strings.Contains(body, `"code":"LoginRequired"`) || !strings.Contains(body, "credd login --profile keys") || !strings.Contains(body, testSerial) {
			t.Errorf("%s: %d %s, want 503 naming `credd login --profile keys`", p, code, body)
		}
		if st := profileState(t, ctl, p); st != "mfa-required" {
			t.Errorf("%s: state %s, want mfa-required", p, st)
		}
	}
	if got := m.notes.all(); len(got) != 1 || !strings.Contains(got[0], "credd login --profile keys") {
		t.Errorf("notifications %q, want one naming the command", got)
	}
	if calls := m.sts.Calls(); len(calls) != 0 {
		t.Fatalf("STS calls before a code: %+v", calls)
	}

	// No code and no mfa_process: the CLI must ask.
	res, err := mfaLogin(t, ctl, control.MFARequest{Profile: "admin"})
	if err != nil || !res.MFA || !res.NeedCode || res.Serial != testSerial {
		t.Fatalf("login without a code: %+v %v, want need_code for %s", res, err, testSerial)
	}
	// Not a code: refused before STS.
	if _, err := mfaLogin(t, ctl, control.MFARequest{Profile: "admin", Code: "12345"}); !errors.Is(err, cred.ErrInvalid) {
		t.Errorf("a 5-digit code: %v, want kind invalid", err)
	}
	// A wrong code: STS refuses, nothing is served, the profiles stay
	// mfa-required.
	if _, err := mfaLogin(t, ctl, control.MFARequest{Profile: "admin", Code: "999999"}); !errors.Is(err, cred.ErrMFARequired) || !strings.Contains(err.Error(), "MultiFactorAuthentication failed") {
		t.Errorf("a wrong code: %v, want kind mfa-required with STS's reason", err)
	}
	if code, _ := r.get(t, "/v1/credentials/admin", auth); code != 503 {
		t.Errorf("after a wrong code admin answers %d, want 503", code)
	}
	if st := profileState(t, ctl, "admin"); st != "mfa-required" {
		t.Errorf("after a wrong code admin is %s, want mfa-required", st)
	}
	// The same wrong code again is not sent.
	if _, err := mfaLogin(t, ctl, control.MFARequest{Profile: "admin", Code: "999999"}); !errors.Is(err, cred.ErrMFARequired) {
		t.Errorf("the same code again: %v", err)
	}
	if n := m.calls("GetSessionToken"); n != 1 {
		t.Fatalf("%d GetSessionToken calls after a malformed and two wrong codes, want 1", n)
	}

	// The right code, given for one role, serves the keys and both roles.
	res, err = mfaLogin(t, ctl, control.MFARequest{Profile: "ops", Code: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"admin", "keys", "ops"}; !slices.Equal(res.Ready, want) || len(res.NotReady) != 0 {
		t.Errorf("ready %v not ready %+v, want %v", res.Ready, res.NotReady, want)
	}
	if res.Expires == nil || !res.Expires.Equal(m.clk.Now().Add(10*time.Hour)) || !strings.HasPrefix(res.Session, "mfa/AKIAKEYS/tester-") {
		t.Errorf("session %s until %v, want mfa/AKIAKEYS/tester-… for 10h", res.Session, res.Expires)
	}
	gst := m.sts.CallsOf("GetSessionToken")
	if len(gst) != 2 {
		t.Fatalf("%d GetSessionToken calls, want 2 (the refused one and this)", len(gst))
	}
	f := gst[1].Form
	if f.Get("SerialNumber") != testSerial || f.Get("TokenCode") != "123456" || f.Get("DurationSeconds") != "36000" || gst[1].AccessKeyID != "AKIAKEYS" {
		t.Errorf("GetSessionToken %v signed by %s, want serial, code, 36000 s, by the keys", f, gst[1].AccessKeyID)
	}
	for _, p := range []string{"keys", "admin", "ops"} {
		if code, body := r.get(t, "/v1/credentials/"+p, auth); code != 200 {
			t.Errorf("%s after the code: %d %s", p, code, body)
		}
		if st := profileState(t, ctl, p); st != "fresh" {
			t.Errorf("%s: state %s, want fresh", p, st)
		}
	}
	// Every role was assumed from the MFA session (MFA context), for an
	// hour at most (role chaining), whatever duration the profile asks.
	for _, c := range m.sts.CallsOf("AssumeRole") {
		if !c.MFA || !strings.HasPrefix(c.AccessKeyID, "ASIAMFA") {
			t.Errorf("AssumeRole %s signed by %s, not from the MFA session", c.Form.Get("RoleArn"), c.AccessKeyID)
		}
		if c.Form.Get("DurationSeconds") != "3600" {
			t.Errorf("AssumeRole %s for %s s, want 3600 (chained)", c.Form.Get("RoleArn"), c.Form.Get("DurationSeconds"))
		}
	}
	st := ctl.Status(t.Context())
	i := slices.IndexFunc(st.Sessions, func(s control.SessionStatus) bool { return s.Name == res.Session })
	if i < 0 || st.Sessions[i].Kind != "mfa" || st.Sessions[i].State != "signed-in" || st.Sessions[i].Expires == nil || !st.Sessions[i].Expires.Equal(*res.Expires) {
		t.Errorf("status sessions %+v, want %s (mfa, signed-in) until %v", st.Sessions, res.Session, res.Expires)
	}

	// Hours pass: the roles are assumed again each hour from the same
	// session; no code, no GetSessionToken.
	assumed := m.calls("AssumeRole")
	for range 5 {
		m.clk.Advance(time.Hour)
		for _, p := range []string{"admin", "ops"} {
			if code, body := r.get(t, "/v1/credentials/"+p, auth); code != 200 {
				t.Fatalf("%s an hour later: %d %s", p, code, body)
			}
		}
	}
	if n := m.calls("AssumeRole"); n < assumed+10 {
		t.Errorf("%d AssumeRole calls over 5 hours, want at least %d (hourly, both roles)", n-assumed, 10)
	}
	if n := m.calls("GetSessionToken"); n != 2 {
		t.Errorf("%d GetSessionToken calls after 5 hours, want still 2", n)
	}
	if got := m.notes.all(); len(got) != 1 {
		t.Errorf("notifications %q, want the one only", got)
	}
	// Not yet within the hour before its end: no warning.
	r.d.sessions.warnEnds(m.clk.Now())
	if got := m.notes.all(); len(got) != 1 {
		t.Errorf("notifications %q five hours before the end, want none more", got)
	}

	// An hour before its end the user is told once, with the command.
	before := len(m.notes.all())
	m.clk.Advance(4*time.Hour + 10*time.Minute) // 9h10m in: 50m left
	r.d.sessions.warnEnds(m.clk.Now())
	r.d.sessions.warnEnds(m.clk.Now())
	if got := m.notes.all()[before:]; len(got) != 1 || !strings.Contains(got[0], "MFA session ends soon") || !strings.Contains(got[0], "credd login --profile") {
		t.Errorf("notifications before the end %q, want one naming the command", got)
	}

	// A restart reads the session from the store: no code, no call.
	r2, ctl2 := m.start(t)
	for _, p := range []string{"keys", "admin"} {
		if code, body := r2.get(t, "/v1/credentials/"+p, auth); code != 200 {
			t.Errorf("%s after a restart: %d %s", p, code, body)
		}
	}
	if n := m.calls("GetSessionToken"); n != 2 {
		t.Errorf("%d GetSessionToken calls after a restart, want still 2", n)
	}

	// Past its end, the session is over: mfa-required again, and still no
	// call without a code.
	m.clk.Advance(time.Hour)
	if code, body := r2.get(t, "/v1/credentials/admin", auth); code != 503 || !strings.Contains(body, "credd login --profile") {
		t.Errorf("after the session ended: %d %s, want 503", code, body)
	}
	if n := m.calls("GetSessionToken"); n != 2 {
		t.Errorf("%d GetSessionToken calls after the end, want still 2", n)
	}
	st = ctl2.Status(t.Context())
	if i := slices.IndexFunc(st.Sessions, func(s control.SessionStatus) bool { return s.Name == res.Session }); i < 0 || st.Sessions[i].State != "mfa-required" || !strings.Contains(st.Sessions[i].Error, "credd login --profile") ||
		!strings.HasPrefix(st.Sessions[i].Login, "credd login --profile ") {
		t.Errorf("status sessions after the end %+v, want %s mfa-required naming the command (login)", st.Sessions, res.Session)
	}

	// A new code, then logout forgets the session everywhere.
	if _, err := mfaLogin(t, ctl2, control.MFARequest{Profile: "keys", Code: "234567"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := r2.get(t, "/v1/credentials/admin", auth); code != 200 {
		t.Fatalf("after the new code admin answers %d", code)
	}
	out, err := ctl2.Logout(t.Context(), control.LogoutRequest{})
	if err != nil || len(out.Removed) != 1 || !strings.HasPrefix(out.Removed[0], "mfa/") {
		t.Fatalf("logout: %+v %v, want the MFA session removed once", out, err)
	}
	if code, _ := r2.get(t, "/v1/credentials/admin", auth); code != 503 {
		t.Errorf("after logout admin answers %d, want 503", code)
	}
	if keys, _ := m.store.List(t.Context()); len(keys) != 0 {
		t.Errorf("store after logout: %v", keys)
	}
	if got := profileState(t, ctl2, "admin"); got != string(refresh.StateMFARequired) {
		t.Errorf("after logout admin is %s, want mfa-required", got)
	}
	// Neither the codes nor any secret reached the logs.
	for _, logs := range []string{r.logs.String(), r2.logs.String()} {
		for _, secret := range []string{"123456", "234567", "999999", "keys-secret", "fake-secret", "fake-token"} {
			if strings.Contains(logs, secret) {
				t.Errorf("the logs hold %q", secret)
			}
		}
	}
}

// TestMFAInTheSharedFiles: mfa_serial in ~/.aws/config, on the keys
// (aws-vault's way) or on the role (the AWS CLI's), is one MFA session on
// the keys shared by both profiles, and never a call without a code.
func TestMFAInTheSharedFiles(t *testing.T) {
	roles := "[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/admin\nsource_profile = keys\n%s[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/ops\nsource_profile = keys\n%s"
	onRole := "mfa_serial = " + testSerial + "\n"
	for _, tc := range []struct{ name, shared string }{
		{"on the keys", keysFile + onRole + fmt.Sprintf(roles, "", "")},
		{"on the roles", keysFile + fmt.Sprintf(roles, onRole, onRole)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMFARig(t, `
profiles:
  admin: {aws_profile: admin}
  ops: {aws_profile: ops}
`, tc.shared)
			r, ctl := m.start(t)
			for _, p := range []string{"admin", "ops"} {
				if code, body := r.get(t, "/v1/credentials/"+p, auth); code != 503 || !strings.Contains(body, "credd login --profile "+p) {
					t.Errorf("%s: %d %s, want 503 naming its login", p, code, body)
				}
			}
			if calls := m.sts.Calls(); len(calls) != 0 {
				t.Fatalf("STS calls before a code: %+v", calls)
			}
			res, err := mfaLogin(t, ctl, control.MFARequest{Profile: "admin", Code: "123456"})
			if err != nil || !slices.Equal(res.Ready, []string{"admin", "ops"}) {
				t.Fatalf("login: %+v %v, want admin and ops ready", res, err)
			}
			if n := m.calls("GetSessionToken"); n != 1 {
				t.Errorf("%d GetSessionToken calls, want 1", n)
			}
			roles := map[string]bool{}
			for _, c := range m.sts.CallsOf("AssumeRole") {
				roles[c.Form.Get("RoleArn")] = true
				if !c.MFA {
					t.Errorf("AssumeRole %s not from the MFA session", c.Form.Get("RoleArn"))
				}
			}
			if len(roles) != 2 {
				t.Errorf("roles assumed %v, want admin and ops", roles)
			}
		})
	}
}

// TestMFAProcessIsRunForTheCode: with mfa_process the daemon runs the
// command when the session is needed, and nobody is asked; a code STS
// refuses stops it from running again on its own.
func TestMFAProcessIsRunForTheCode(t *testing.T) {
	m := newMFARig(t, `
profiles:
  keys: {aws_profile: keys, mfa_serial: "`+testSerial+`", mfa_process: "echo 123456"}
  admin: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/admin"}
`, keysFile)
	r, _ := m.start(t)
	if code, body := r.get(t, "/v1/credentials/admin", auth); code != 200 {
		t.Fatalf("admin: %d %s", code, body)
	}
	gst := m.sts.CallsOf("GetSessionToken")
	if len(gst) != 1 || gst[0].Form.Get("TokenCode") != "123456" || gst[0].Form.Get("DurationSeconds") != "43200" {
		t.Fatalf("GetSessionToken calls %+v, want one with the printed code for 12h", gst)
	}
	if got := m.notes.all(); len(got) != 0 {
		t.Errorf("notified %q, want nobody asked", got)
	}
	// The session ends; the command prints the same code again, which is
	// not sent twice: the profile asks for `credd login`.
	m.clk.Advance(12 * time.Hour)
	if code, body := r.get(t, "/v1/credentials/admin", auth); code != 503 || !strings.Contains(body, "credd login --profile") {
		t.Errorf("after the end, with a spent code: %d %s, want 503", code, body)
	}
	if n := m.calls("GetSessionToken"); n != 1 {
		t.Errorf("%d GetSessionToken calls, want 1 (the spent code is not sent)", n)
	}
}

// TestMFAOnARoleWhoseSourceHasNone: a role profile with its own
// mfa_serial takes its MFA session on its source's keys; the source
// itself, which names no device, is served as before.
func TestMFAOnARoleWhoseSourceHasNone(t *testing.T) {
	m := newMFARig(t, `
profiles:
  keys: {aws_profile: keys}
  admin: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/admin", mfa_serial: "`+testSerial+`"}
`, keysFile)
	r, ctl := m.start(t)
	if code, _ := r.get(t, "/v1/credentials/admin", auth); code != 503 {
		t.Errorf("admin before a code: %d, want 503", code)
	}
	if n := len(m.sts.Calls()); n != 0 {
		t.Fatalf("%d STS calls before a code", n)
	}
	res, err := mfaLogin(t, ctl, control.MFARequest{Profile: "admin", Code: "123456"})
	if err != nil || !slices.Equal(res.Ready, []string{"admin"}) {
		t.Fatalf("login: %+v %v", res, err)
	}
	if c := m.sts.CallsOf("AssumeRole"); len(c) != 1 || !c[0].MFA {
		t.Errorf("AssumeRole calls %+v, want one from the MFA session", c)
	}
	// keys names no device: --profile keys has no MFA to do.
	if res, err := mfaLogin(t, ctl, control.MFARequest{Profile: "keys"}); err != nil || res.MFA {
		t.Errorf("login --profile keys: %+v %v, want mfa false", res, err)
	}
}

// TestMFAConsoleStillRefusesTheKeys: GetFederationToken cannot carry MFA,
// so the console of keys with a device is refused without a call.
func TestMFAConsoleStillRefusesTheKeys(t *testing.T) {
	m := newMFARig(t, `
profiles:
  keys: {aws_profile: keys, mfa_serial: "`+testSerial+`"}
`, keysFile)
	r, _ := m.start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := r.d.Console(ctx, ConsoleRequest{Profile: "keys"}); err == nil {
		t.Error("console for keys with MFA and no session: no error")
	}
	if calls := m.sts.CallsOf("GetFederationToken"); len(calls) != 0 {
		t.Errorf("GetFederationToken calls %+v, want none", calls)
	}
	if calls := m.sts.CallsOf("GetSessionToken"); len(calls) != 0 {
		t.Errorf("GetSessionToken calls %+v, want none", calls)
	}
}

// TestMFACodeNeededIsToldAgainAfterACode: the user is told once that a
// profile needs a code; after a code started the session, its end is news
// again, and told once more.
func TestMFACodeNeededIsToldAgainAfterACode(t *testing.T) {
	m := newMFARig(t, `
profiles:
  keys: {aws_profile: keys, mfa_serial: "`+testSerial+`", mfa_session_duration: 1h}
`, keysFile)
	r, ctl := m.start(t)
	needed := func() int {
		m.notes.mu.Lock()
		defer m.notes.mu.Unlock()
		n := 0
		for _, s := range m.notes.notes {
			if strings.HasPrefix(s, "credd: MFA code needed") {
				n++
			}
		}
		return n
	}
	for range 2 {
		if code, body := r.get(t, "/v1/credentials/keys", auth); code != 503 {
			t.Fatalf("before a code: %d %s, want 503", code, body)
		}
	}
	if n := needed(); n != 1 {
		t.Fatalf("%d notifications that a code is needed, want 1", n)
	}
	if _, err := mfaLogin(t, ctl, control.MFARequest{Profile: "keys", Code: "123456"}); err != nil {
		t.Fatal(err)
	}
	if code, body := r.get(t, "/v1/credentials/keys", auth); code != 200 {
		t.Fatalf("after a code: %d %s", code, body)
	}
	m.clk.Advance(2 * time.Hour)
	for range 2 {
		if code, body := r.get(t, "/v1/credentials/keys", auth); code != 503 {
			t.Fatalf("after the session ended: %d %s, want 503", code, body)
		}
	}
	if n := needed(); n != 2 {
		t.Errorf("%d notifications that a code is needed, want 2: one before the code, one after the session it started ended", n)
	}
}
