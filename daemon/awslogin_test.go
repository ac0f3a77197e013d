package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/signintest"
	"github.com/credd/credd/login"
	"github.com/credd/credd/source"
	"github.com/credd/credd/store"
)

// signinConfig is a configuration with one login_session profile of the
// fake's session, and a chain on it.
func signinConfig(f *signintest.Server, extra string) string {
	return fmt.Sprintf(`signin: {endpoint: %q}
%sprofiles:
  console: {login_session: %q, region: eu-west-1}
`, f.URL, extra, f.Session())
}

// browse is the browser: it follows the sign-in URL, which the fake
// approves at once and redirects to credd's loopback callback.
func browse(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// leapsAreNotSleep is the Deps.WakeCheck of tests that move the fake
// clock on by minutes at once to reach a background renewal. The daemon's
// sleep detector (clock.WatchSleep) takes such a leap for the machine
// waking, and re-times what fell due to a point within
// refresh.ResumeSpread after it: a time the clock then never reaches, so
// the renewal never came when the detector looked before the scheduler
// ran it. Looking every 1000 hours, it never looks in these tests.
const leapsAreNotSleep = 1000 * time.Hour

// TestSignInSession: `credd login --signin` signs in to AWS Sign-In with
// the browser flow; the profile is served the session's credentials, the
// session is kept in the store (with its DPoP key) and shared in the AWS
// CLI's login cache; credd renews it half the credentials' life before
// their end and writes the renewal there at once.
func TestSignInSession(t *testing.T) {
	clk := clock.NewFake(time.Now())
	f := signintest.New(t, signintest.Options{Now: clk.Now})
	home := t.TempDir()
	sessions := store.NewMemory()
	r := startWith(t, signinConfig(f, ""), "", func(d *Deps) {
		d.Sessions, d.HomeDir, d.Clock, d.WakeCheck = sessions, home, clk, leapsAreNotSleep
	})
	ctl := r.d.ControlBackend(ControlInfo{})

	if _, err := r.d.Current(t.Context(), "console"); !errors.Is(err, cred.ErrLoginRequired) || !strings.Contains(err.Error(), "credd login --signin --profile console") {
		t.Fatalf("before the sign-in: %v, want sign-in required naming the command", err)
	}
	st, err := ctl.Login(t.Context(), control.LoginRequest{SignIn: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Session != "signin/111122223333/assumed-role/Admin/alice" || st.Remote || st.Device || !strings.Contains(st.URL, "client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device") {
		t.Fatalf("sign-in %+v", st)
	}
	browse(t, st.URL)
	ls, err := ctl.LoginStatus(t.Context(), st.ID, time.Minute)
	if err != nil || ls.State != "done" || len(ls.Ready) != 1 || ls.Ready[0] != "console" {
		t.Fatalf("login status %+v %v (refused: %q)", ls, err, f.Refusals())
	}
	c, err := r.d.Current(t.Context(), "console")
	want := f.LastCredentials()
	if err != nil || c.AccessKeyID != want.AccessKeyID || c.SessionToken != want.SessionToken || c.AccountID != "111122223333" {
		t.Fatalf("served %v %v, want the session's credentials %s", c.AccessKeyID, err, want.AccessKeyID)
	}
	cache := login.LoginCacheFile(filepath.Join(home, ".aws", "login", "cache"), f.Session())
	tok, err := login.ReadLoginCache(cache)
	if err != nil || tok.Extra[login.ExtraAccessKeyID] != want.AccessKeyID {
		t.Fatalf("AWS CLI cache: %v", err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(cache)
		di, derr := os.Stat(filepath.Dir(cache))
		if err != nil || derr != nil || fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
			t.Errorf("cache file %v (%v), directory %v (%v); want 0600 in 0700", fi.Mode(), err, di.Mode(), derr)
		}
	}
	raw, err := sessions.Get(t.Context(), st.Session)
	if err != nil || !strings.Contains(string(raw), "EC PRIVATE KEY") {
		t.Fatalf("stored session (%d bytes): %v, want it with its DPoP key", len(raw), err)
	}

	// 7 minutes in, nothing is renewed; at 7.5 the session renews itself
	// (before the AWS CLI would, 5 minutes before the end).
	clk.Advance(7 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if n := f.Calls("CreateOAuth2Token/refresh_token"); n != 0 {
		t.Fatalf("renewed after 7 minutes (%d)", n)
	}
	clk.Advance(45 * time.Second)
	deadline := time.Now().Add(time.Minute)
	for f.Calls("CreateOAuth2Token/refresh_token") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	renewed := f.LastCredentials()
	if renewed.AccessKeyID == want.AccessKeyID {
		t.Fatalf("no renewal at 7.5 minutes (refused: %q)", f.Refusals())
	}
	for time.Now().Before(deadline) {
		if tok, err = login.ReadLoginCache(cache); err == nil && tok.Extra[login.ExtraAccessKeyID] == renewed.AccessKeyID {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tok.Extra[login.ExtraAccessKeyID] != renewed.AccessKeyID {
		t.Errorf("the cache was not rewritten with the renewal")
	}

	// No secret in the status or the log.
	status, _ := json.Marshal(ctl.Status(t.Context()))
	for _, where := range []struct{ name, text string }{{"status", string(status)}, {"log", r.logs.String()}} {
		for _, secret := range []string{signintest.PrefixRefresh, signintest.PrefixSecret, signintest.PrefixSession, signintest.PrefixCode, "PRIVATE KEY", want.SecretAccessKey} {
			if strings.Contains(where.text, secret) {
				t.Errorf("the %s holds a secret (%.20s...)", where.name, secret)
			}
		}
	}

	// Logout forgets it and removes the cache file credd wrote.
	if _, err := ctl.Logout(t.Context(), control.LogoutRequest{Session: st.Session}); err != nil {
		t.Fatal(err)
	}
	if _, err := login.ReadLoginCache(cache); err == nil {
		t.Error("the cache file survived the logout")
	}
}

// TestSignInRemote: `credd login --signin --remote`: a wrong code is
// refused (kind invalid) and the flow keeps waiting for the right one.
func TestSignInRemote(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	r := startWith(t, signinConfig(f, ""), "", func(d *Deps) { d.Sessions = store.NewMemory() })
	ctl := r.d.ControlBackend(ControlInfo{})
	codes := ctl.(control.LoginCodes)
	st, err := ctl.Login(t.Context(), control.LoginRequest{SignIn: true, Profile: "console", Remote: true})
	if err != nil || !st.Remote {
		t.Fatalf("sign-in %+v, %v", st, err)
	}
	// A browser sign-in asked for meanwhile joins it; a --device one is
	// refused.
	if again, err := ctl.Login(t.Context(), control.LoginRequest{Profile: "console"}); err != nil || !again.Remote {
		t.Errorf("a plain login during a cross-device one: %+v %v, want it joined", again, err)
	}
	code, ok := signintest.PageCode(browse(t, st.URL))
	if !ok {
		t.Fatal("no code on the confirmation page")
	}
	if _, err := codes.SubmitLoginCode(t.Context(), st.ID, signintest.VerificationCode("x", "other")); !errors.Is(err, cred.ErrInvalid) {
		t.Fatalf("wrong code: %v, want invalid", err)
	}
	ls, err := codes.SubmitLoginCode(t.Context(), st.ID, code)
	if err != nil || ls.State != "done" || len(ls.Ready) != 1 {
		t.Fatalf("right code: %+v %v (refused %q)", ls, err, f.Refusals())
	}
	if c, err := r.d.Current(t.Context(), "console"); err != nil || c.AccessKeyID != f.LastCredentials().AccessKeyID {
		t.Errorf("served %v %v", c.AccessKeyID, err)
	}
}

// TestSignInRequests: what `credd login --signin` asks of the
// configuration, each refusal saying what to do.
func TestSignInRequests(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	r := startWith(t, fmt.Sprintf(`signin: {endpoint: %[1]q}
profiles:
  a: {login_session: "arn:aws:iam::111122223333:user/a"}
  b: {login_session: "arn:aws:iam::111122223333:user/b"}
  keys: {aws_profile: keys}
`, f.URL), "[profile keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n", func(d *Deps) { d.Sessions = store.NewMemory() })
	ctl := r.d.ControlBackend(ControlInfo{})
	for _, tc := range []struct {
		name string
		req  control.LoginRequest
		kind error
		want string
	}{
		{"two sessions", control.LoginRequest{SignIn: true}, cred.ErrInvalid, "say which with --profile (a, b)"},
		{"not a sign-in profile", control.LoginRequest{SignIn: true, Profile: "keys"}, cred.ErrInvalid, "signs in through no credd session"},
		{"remote for keys", control.LoginRequest{Profile: "keys", Remote: true}, cred.ErrInvalid, "signs in through no credd session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ctl.Login(t.Context(), tc.req)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want %v containing %q", err, tc.kind, tc.want)
			}
		})
	}
}

// TestLoginSessionOfTheAWSConfig: an aws_profile whose ~/.aws/config
// profile names login_session (as zero-configuration mode serves every
// profile there) is served by credd's own session, taken from the AWS
// CLI's login cache at start without a sign-in.
func TestLoginSessionOfTheAWSConfig(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	home := t.TempDir()
	dir := filepath.Join(home, ".aws", "login", "cache")
	// `aws login` ran before credd started.
	m := &login.SignIn{Region: "eu-west-1", Endpoint: f.URL, Session: f.Session(), CacheDir: dir}
	u, exchange, err := m.AuthCodeURL(t.Context(), "http://127.0.0.1:1/oauth/callback", "st")
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	tok, err := exchange(t.Context(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	tok.Extra[login.ExtraLoginSession] = f.Session()
	if err := m.Kept(tok); err != nil {
		t.Fatal(err)
	}
	awsConfig := fmt.Sprintf("[profile console]\nlogin_session = %s\nregion = eu-west-1\n", f.Session())
	r := startWith(t, fmt.Sprintf("signin: {endpoint: %q}\nprofiles:\n  console: {aws_profile: console}\n", f.URL), awsConfig,
		func(d *Deps) { d.Sessions = store.NewMemory(); d.HomeDir = home })
	c, err := r.d.Current(t.Context(), "console")
	if err != nil || c.AccessKeyID != tok.Extra[login.ExtraAccessKeyID] {
		t.Fatalf("served %v %v, want the cached session's credentials", c.AccessKeyID, err)
	}
	st := r.d.ControlBackend(ControlInfo{}).Status(t.Context())
	if st.Profiles[0].Source != "login_session" {
		t.Errorf("source %q, want login_session (credd's own session)", st.Profiles[0].Source)
	}
	if len(st.Sessions) != 1 || st.Sessions[0].Name != signinKey(f.Session()) || st.Sessions[0].State != "signed-in" {
		t.Errorf("sessions %+v", st.Sessions)
	}
}

func TestSigninKey(t *testing.T) {
	for _, tc := range []struct{ arn, want string }{
		{"arn:aws:sts::111122223333:assumed-role/Admin/alice", "signin/111122223333/assumed-role/Admin/alice"},
		{"arn:aws:iam::111122223333:user/bob", "signin/111122223333/user/bob"},
		{"arn:aws:iam::111122223333:root", "signin/111122223333/root"},
		{"arn:aws:sts::111122223333:assumed-role/A=b,c/x", "signin/111122223333/assumed-role/A_b_c/x"},
		{"arn:aws:iam::111122223333:user/" + strings.Repeat("n", 80), "signin/111122223333/" + shortHash("arn:aws:iam::111122223333:user/"+strings.Repeat("n", 80))},
	} {
		if got := signinKey(tc.arn); got != tc.want || store.ValidateKey(got) != nil {
			t.Errorf("signinKey(%s) = %s (%v), want %s", tc.arn, got, store.ValidateKey(got), tc.want)
		}
	}
}

// TestAdoptLoginSessions: only the aws_profile profiles whose AWS profile
// the AWS SDK signs in with its login_session, and uses as it is, become
// credd's login_session profiles; a role assumed with the session, keys
// (in either file) or Identity Center the SDK takes first, a source
// profile, MFA, or a malformed ARN leave the profile to the SDK, as it was.
func TestAdoptLoginSessions(t *testing.T) {
	const arn = "arn:aws:sts::111122223333:assumed-role/Admin/alice"
	dir := t.TempDir()
	awsConfig, awsCreds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(awsConfig, fmt.Sprintf(`[profile console]
login_session = %[1]s
region = eu-west-1
[profile chained]
login_session = %[1]s
role_arn = arn:aws:iam::111122223333:role/ops
[profile keyed]
login_session = %[1]s
[profile sso]
login_session = %[1]s
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile garbled]
login_session = alice
[profile ops]
source_profile = console
role_arn = arn:aws:iam::111122223333:role/ops
`, arn))
	write(awsCreds, "[keyed]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n")
	shared := source.ReadSharedFiles([]string{awsConfig}, []string{awsCreds})
	cfg := config.Config{Profiles: map[string]config.Profile{}}
	for _, n := range []string{"console", "chained", "keyed", "sso", "garbled", "ops"} {
		cfg.Profiles[n] = config.Profile{AWSProfile: n}
	}
	cfg.Profiles["mine"] = config.Profile{AWSProfile: "console", Region: "us-east-1"}
	cfg.Profiles["mfa"] = config.Profile{AWSProfile: "console", MFASerial: "arn:aws:iam::111122223333:mfa/alice"}

	got := adoptLoginSessions(cfg, shared)
	for name, want := range map[string]config.Profile{
		"console": {LoginSession: arn, Region: "eu-west-1"},
		"mine":    {LoginSession: arn, Region: "us-east-1"}, // credd's region first
		"chained": {AWSProfile: "chained"},
		"keyed":   {AWSProfile: "keyed"},
		"sso":     {AWSProfile: "sso"},
		"garbled": {AWSProfile: "garbled"},
		"ops":     {AWSProfile: "ops"},
		"mfa":     {AWSProfile: "console", MFASerial: "arn:aws:iam::111122223333:mfa/alice"},
	} {
		if p := got.Profiles[name]; !reflect.DeepEqual(p, want) {
			t.Errorf("profile %s = %+v, want %+v", name, p, want)
		}
	}
	if cfg.Profiles["console"].LoginSession != "" {
		t.Error("the configuration passed in was changed")
	}
}

// TestSignInSessionEnds: an AWS Sign-In session the service ends (a
// changed password) turns login-required at its next renewal: its profile
// answers sign-in required naming `credd login --signin --profile
// console`, the status lists the session with that command, and one
// notification says so however many requests follow.
func TestSignInSessionEnds(t *testing.T) {
	clk := clock.NewFake(time.Now())
	f := signintest.New(t, signintest.Options{Now: clk.Now})
	notes := &recordingNotifier{}
	r := startWith(t, signinConfig(f, ""), "", func(d *Deps) {
		d.Sessions = store.NewMemory()
		d.HomeDir = t.TempDir()
		d.Clock = clk
		d.Notifier = notes
		d.WakeCheck = leapsAreNotSleep
	})
	ctl := r.d.ControlBackend(ControlInfo{})
	st, err := ctl.Login(t.Context(), control.LoginRequest{SignIn: true})
	if err != nil {
		t.Fatal(err)
	}
	browse(t, st.URL)
	if ls, err := ctl.LoginStatus(t.Context(), st.ID, time.Minute); err != nil || ls.State != "done" {
		t.Fatalf("login status %+v %v (refused: %q)", ls, err, f.Refusals())
	}
	if s := ctl.Status(t.Context()).Sessions; len(s) != 1 || s[0].State != "signed-in" || s[0].Login != "" {
		t.Fatalf("signed in: sessions %+v, want one signed-in with no command", s)
	}

	f.ChangePassword()
	const cmd = "credd login --signin --profile console"
	var sessions []control.SessionStatus
	// ended: the session says so, and its profile has dropped what it
	// gave (the session's state is set before the daemon hears of it and
	// drops the profile's credentials, which are still valid).
	ended := func() bool {
		sessions = ctl.Status(t.Context()).Sessions
		return len(sessions) == 1 && sessions[0].State == "login-required" && profileState(t, ctl, "console") == "login-required"
	}
	// Past the renewal at 7.5 minutes; again if its timer was set after
	// the clock moved.
	for range 5 {
		clk.Advance(8 * time.Minute)
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !ended(); time.Sleep(10 * time.Millisecond) {
		}
		if ended() {
			break
		}
	}
	if len(sessions) != 1 || sessions[0].State != "login-required" || sessions[0].Login != cmd || !strings.Contains(sessions[0].Error, "USER_CREDENTIALS_CHANGED") {
		t.Fatalf("after the refusal: sessions %+v, want %s login-required, its command %q", sessions, st.Session, cmd)
	}
	for range 3 {
		if _, err := r.d.Current(t.Context(), "console"); !errors.Is(err, cred.ErrLoginRequired) || !strings.Contains(err.Error(), cmd) {
			t.Fatalf("served after the end: %v, want sign-in required naming %q", err, cmd)
		}
	}
	if got := notes.all(); len(got) != 1 || !strings.Contains(got[0], cmd) {
		t.Errorf("notifications %q, want one naming %q", got, cmd)
	}
}

// TestSignInOneRenewalForAll: two profiles naming the same login_session
// share one session (one entry in the status); once its credentials have
// ended, the background renewal and fifty requests on both profiles at
// once make one CreateOAuth2Token, and every request gets the renewed
// credentials.
func TestSignInOneRenewalForAll(t *testing.T) {
	clk := clock.NewFake(time.Now())
	f := signintest.New(t, signintest.Options{Now: clk.Now})
	cfg := signinConfig(f, "") + fmt.Sprintf("  console2: {login_session: %q}\n", f.Session())
	r := startWith(t, cfg, "", func(d *Deps) { d.Sessions = store.NewMemory(); d.HomeDir = t.TempDir(); d.Clock = clk })
	ctl := r.d.ControlBackend(ControlInfo{})
	st, err := ctl.Login(t.Context(), control.LoginRequest{SignIn: true})
	if err != nil {
		t.Fatal(err)
	}
	browse(t, st.URL)
	if ls, err := ctl.LoginStatus(t.Context(), st.ID, time.Minute); err != nil || ls.State != "done" || strings.Join(ls.Ready, ",") != "console,console2" {
		t.Fatalf("login status %+v %v, want both profiles ready", ls, err)
	}
	if s := ctl.Status(t.Context()).Sessions; len(s) != 1 {
		t.Fatalf("sessions %+v, want one for both profiles", s)
	}

	// Past the credentials' end (the machine slept through the renewal):
	// every request needs the renewal.
	clk.Advance(16 * time.Minute)
	var wg sync.WaitGroup
	keys := make([]string, 50)
	for i := range keys {
		wg.Go(func() {
			c, err := r.d.Current(t.Context(), []string{"console", "console2"}[i%2])
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			keys[i] = c.AccessKeyID
		})
	}
	wg.Wait()
	renewed := f.LastCredentials().AccessKeyID
	time.Sleep(50 * time.Millisecond) // a second renewal would show now
	if n := f.Calls("CreateOAuth2Token/refresh_token"); n != 1 {
		t.Errorf("%d renewals, want 1 (refused: %q)", n, f.Refusals())
	}
	for i, k := range keys {
		if k != renewed {
			t.Errorf("request %d got %s, want the renewed %s", i, k, renewed)
			break
		}
	}
}
