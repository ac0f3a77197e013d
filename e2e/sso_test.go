package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/credd/credd/cmd/credd/cli"
	"github.com/credd/credd/internal/privatetest"
	"github.com/credd/credd/internal/ssotest"
	"github.com/credd/credd/login"
)

// These tests sign in to a fake IAM Identity Center (internal/ssotest)
// through the real `credd serve`, and read role credentials as SDKs do.

const ssoProfiles = `default_profile: dev
sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1, endpoint: %q%s}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
  ops: {sso_session: corp, account_id: "444455556666", role_name: Ops}
`

var ssoAccounts = []ssotest.Account{
	{ID: "111122223333", Name: "dev", Roles: []string{"Developer"}},
	{ID: "444455556666", Name: "ops", Roles: []string{"Ops"}},
}

func newSSOServed(t *testing.T, fake *ssotest.Server, sessionExtra string) *served {
	t.Helper()
	return newServed(t, fmt.Sprintf(ssoProfiles, fake.URL, sessionExtra), "")
}

// addProfile adds a profile to the running daemon's config and reloads: a
// new refresher, so its first request goes upstream.
func (s *served) addProfile(t *testing.T, line string) {
	t.Helper()
	s.writeConfig(t, s.config(t)+"  "+line+"\n")
	if code, _, e := s.run(t, "reload"); code != 0 {
		t.Fatalf("reload: %s", e)
	}
}

func noSSOSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, p := range []string{ssotest.PrefixAccess, ssotest.PrefixRefresh, ssotest.PrefixSecret, ssotest.PrefixRoleKey} {
		if strings.Contains(text, p) {
			t.Errorf("%s contains a secret (%s...)", where, p)
		}
	}
}

// TestSSOSignInServeRefreshExpire: PKCE sign-in by following the authorize
// redirect, role credentials for the Go SDK, background renewal with the
// refresh token, a restart that needs no sign-in, and the end of the
// whole session turning the profiles login-required.
func TestSSOSignInServeRefreshExpire(t *testing.T) {
	// Access tokens living 4 minutes, under the session's 5-minute
	// renewal margin: every use of the session renews it.
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts, AccessTTL: 4 * time.Minute})
	s := newSSOServed(t, fake, "")
	s.start(t)
	token := s.token(t)

	r := s.rawGet(t, "/v1/credentials/dev", token)
	if r.code != 503 || !strings.Contains(r.body, "credd login --sso-session corp") {
		t.Fatalf("before sign-in: %d %s", r.code, r.body)
	}
	if st := s.status(t); st.Profiles[0].State != "login-required" {
		t.Errorf("state before sign-in = %s", st.Profiles[0].State)
	}

	code, out, errOut := s.signIn(t, "--sso-session", "corp")
	if code != 0 || !strings.Contains(out, "Signed in to sso/corp") || !strings.Contains(out, "Ready: dev, ops") {
		t.Fatalf("credd login: exit %d\n%s%s\n%s", code, out, errOut, s.logs)
	}
	if n, a := fake.Calls("RegisterClient"), fake.Calls("Authorize"); n != 1 || a != 1 {
		t.Errorf("RegisterClient %d, Authorize %d; want one each", n, a)
	}

	t.Run("aws-sdk-go-v2 endpointcreds reads the role credentials", func(t *testing.T) {
		for _, tc := range []struct{ profile, account, role string }{
			{"dev", "111122223333", "Developer"},
			{"ops", "444455556666", "Ops"},
		} {
			got, err := endpointcreds.New(s.url+"/v1/credentials/"+tc.profile, func(o *endpointcreds.Options) {
				o.AuthorizationToken = string(token)
			}).Retrieve(t.Context())
			if err != nil {
				t.Fatalf("%s: %v", tc.profile, err)
			}
			key, secret, session := ssotest.RoleCredentials(tc.account, tc.role)
			if got.AccessKeyID != key || got.SecretAccessKey != secret || got.SessionToken != session || got.AccountID != tc.account ||
				!got.CanExpire || got.Expires.Before(time.Now().Add(55*time.Minute)) {
				t.Errorf("%s: got %s expiring %v, account %s", tc.profile, got.AccessKeyID, got.Expires, got.AccountID)
			}
		}
	})

	t.Run("the session renews with the refresh token", func(t *testing.T) {
		if n := fake.Calls("CreateToken/refresh_token"); n == 0 {
			t.Errorf("the 4-minute access token was never renewed")
		}
		st := s.status(t)
		if len(st.Sessions) != 1 || st.Sessions[0].Name != "sso/corp" || st.Sessions[0].Kind != "sso" || st.Sessions[0].State != "signed-in" {
			t.Errorf("sessions = %+v", st.Sessions)
		}
	})

	// Restart (outside a subtest: the daemon must outlive it).
	refreshes := fake.Calls("CreateToken/refresh_token")
	s.stop(t)
	s.start(t)
	t.Run("restart with the stored session needs no sign-in", func(t *testing.T) {
		if r := s.rawGet(t, "/v1/credentials/ops", token); r.code != 200 {
			t.Errorf("after restart: %d %s", r.code, r.body)
		}
		if n, a := fake.Calls("RegisterClient"), fake.Calls("Authorize"); n != 1 || a != 1 {
			t.Errorf("after restart: RegisterClient %d, Authorize %d; want still one each", n, a)
		}
		// The rotated refresh token was stored, and works.
		if n := fake.Calls("CreateToken/refresh_token"); n <= refreshes {
			t.Errorf("no renewal with the stored refresh token after the restart")
		}
	})

	t.Run("the end of the session makes its profiles login-required", func(t *testing.T) {
		fake.EndSession()
		s.addProfile(t, `late: {sso_session: corp, account_id: "111122223333", role_name: Developer}`)
		r := s.rawGet(t, "/v1/credentials/late", token)
		if r.code != 503 || !strings.Contains(r.body, "credd login --sso-session corp") {
			t.Fatalf("after the session ended: %d %s", r.code, r.body)
		}
		noSSOSecrets(t, "the 503", r.body)
		st := s.status(t)
		if len(st.Sessions) != 1 || st.Sessions[0].State != "login-required" || !strings.Contains(st.Sessions[0].Error, "credd login --sso-session corp") ||
			st.Sessions[0].Login != "credd login --sso-session corp" {
			t.Errorf("sessions = %+v; 503 said %s\n%s", st.Sessions, r.body, s.logs)
		}
		if _, out, _ := s.run(t, "status"); !strings.Contains(out, "\n  sso/corp: login-required: run `credd login --sso-session corp`\n") {
			t.Errorf("credd status does not say what to run for sso/corp:\n%s", out)
		}
		// Every profile of the session, not only the one that found out:
		// dev and ops hold role credentials valid for most of an hour, and
		// they are not served any more.
		for _, p := range st.Profiles {
			if p.State != "login-required" {
				t.Errorf("%s: state %s, want login-required", p.Name, p.State)
			}
		}
		for _, p := range []string{"dev", "ops"} {
			if r := s.rawGet(t, "/v1/credentials/"+p, token); r.code != 503 || !strings.Contains(r.body, "credd login --sso-session corp") {
				t.Errorf("%s after the session ended: %d %s", p, r.code, r.body)
			}
		}
		if n, ok := s.nextNote(t); !ok {
			t.Errorf("no desktop notification that the session needs a sign-in")
		} else if !strings.Contains(n, "sign-in required") || !strings.Contains(n, "credd login --sso-session corp") {
			t.Errorf("notification %q", n)
		}
		if code, _, errOut := s.run(t, "export", "--profile", "late"); code != cli.ExitLoginRequired {
			t.Errorf("export: exit %d (%s), want 4", code, errOut)
		}
		// Signing in again brings it back.
		if code, out, _ := s.signIn(t, "--profile", "late"); code != 0 || !strings.Contains(out, "late") {
			t.Fatalf("sign in again: %d %s", code, out)
		}
		if r := s.rawGet(t, "/v1/credentials/late", token); r.code != 200 {
			t.Errorf("after signing in again: %d %s", r.code, r.body)
		}
		if n := fake.Calls("RegisterClient"); n != 1 {
			t.Errorf("RegisterClient %d, want the registration reused", n)
		}
	})
	noSSOSecrets(t, "the daemon's log", s.logs.String())
}

// TestSSORenewsInTheBackground: with nobody asking for credentials, the
// daemon renews the session's access token before it expires (half its
// life for tokens this short), and the AWS CLI's cache follows.
func TestSSORenewsInTheBackground(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts, AccessTTL: 4 * time.Second})
	s := newSSOServed(t, fake, "")
	s.start(t)
	// Counted before the sign-in: a renewal that began before the cache
	// is read below may reach the fake first and the cache after.
	grants := fake.Calls("CreateToken/refresh_token")
	if code, out, errOut := s.signIn(t, "--sso-session", "corp"); code != 0 {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	before := readSSOCache(t, s.env["HOME"], "corp")
	// Wait for the renewal to reach the AWS CLI cache (the daemon writes it
	// after it has kept the renewed token).
	var after ssoCache
	waitFor(t, "a renewal in the background of a 4-second token", func() bool {
		after = readSSOCache(t, s.env["HOME"], "corp")
		return after.AccessToken != before.AccessToken
	})
	if fake.Calls("CreateToken/refresh_token") == grants {
		t.Fatalf("the cache changed without a refresh_token grant\n%s", s.logs)
	}
	if after.ExpiresAt < before.ExpiresAt {
		t.Errorf("the AWS CLI cache went back in time (expires %s, then %s)", before.ExpiresAt, after.ExpiresAt)
	}
	if st := s.status(t); len(st.Sessions) != 1 || st.Sessions[0].State != "signed-in" {
		t.Errorf("sessions = %+v", st.Sessions)
	}
}

// TestSSOConcurrentLogins: twenty `credd login` at once run one flow.
func TestSSOConcurrentLogins(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts})
	s := newSSOServed(t, fake, "")
	s.start(t)
	const n = 20
	urls := make(chan string, n)
	codes := make([]int, n)
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var out, errOut bytes.Buffer
			io := s.io(&out, &errOut)
			io.OpenURL = func(u string) error { urls <- u; return nil }
			codes[i] = cli.Run(t.Context(), []string{"--config", s.cfgPath, "login", "--sso-session", "corp"}, io)
			outs[i] = out.String() + errOut.String()
		})
	}
	var first string
	for i := range n {
		u := <-urls
		if i == 0 {
			first = u
		} else if u != first {
			t.Errorf("login %d opened %s, others %s", i, u, first)
		}
	}
	// The user signs in once, in the one browser tab.
	resp, err := http.Get(first)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wg.Wait()
	for i := range n {
		if codes[i] != 0 || !strings.Contains(outs[i], "Signed in to sso/corp") {
			t.Errorf("login %d: exit %d: %s", i, codes[i], outs[i])
		}
	}
	for op, want := range map[string]int{"RegisterClient": 1, "Authorize": 1, "CreateToken/authorization_code": 1} {
		if got := fake.Calls(op); got != want {
			t.Errorf("%s: %d calls, want %d", op, got, want)
		}
	}
}

// TestSSODeviceFlow: `credd login --device` prints the code; the fake
// approves after one authorization_pending poll.
func TestSSODeviceFlow(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts, PendingPolls: 1})
	s := newSSOServed(t, fake, "")
	s.start(t)
	code, out, errOut := s.signIn(t, "--sso-session", "corp", "--device")
	if code != 0 || !strings.Contains(out, "enter the code ABCD-") || !strings.Contains(out, fake.URL+"/device?user_code=") || !strings.Contains(out, "Ready: dev, ops") {
		t.Fatalf("credd login --device: exit %d\n%s%s\n%s", code, out, errOut, s.logs)
	}
	if p, d := fake.Calls("CreateToken/"+ssotest.GrantDeviceCode), fake.Calls("Authorize"); p != 2 || d != 0 {
		t.Errorf("device polls %d (want 2: pending, then approved), browser sign-ins %d", p, d)
	}
	if r := s.rawGet(t, "/v1/credentials/dev", s.token(t)); r.code != 200 {
		t.Errorf("dev: %d %s", r.code, r.body)
	}
	// The session file is private (Windows: its DACL).
	matches, _ := filepath.Glob(filepath.Join(s.stateDir, "sessions", "*"))
	if len(matches) == 0 {
		t.Error("no session file")
	}
	for _, m := range matches {
		privatetest.Check(t, m)
	}
	noSSOSecrets(t, "the daemon's log", s.logs.String())
}

// TestSSOSharedAWSCLICache: after `credd login`, the AWS SDK for Go reads
// the session from ~/.aws/sso/cache (as `aws` does); a second credd with
// no stored session, but the same home, serves without a sign-in; with
// share_aws_cli_cache: false nothing is written.
func TestSSOSharedAWSCLICache(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts})
	s := newSSOServed(t, fake, "")
	s.start(t)
	if code, out, errOut := s.signIn(t, "--sso-session", "corp"); code != 0 {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	file := login.AWSCLICacheFile(s.env["HOME"], "corp")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("cache file: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	privatetest.Check(t, file) // Windows: its DACL
	oc := ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL)})
	bearer, err := ssocreds.NewSSOTokenProvider(oc, file).RetrieveBearerToken(t.Context())
	if err != nil || !strings.HasPrefix(bearer.Value, ssotest.PrefixAccess) {
		t.Fatalf("ssocreds: %v", err)
	}
	// The SDK's own sso credential provider, with that token, through the portal.
	pc := sso.New(sso.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL)})
	c, err := ssocreds.New(pc, "111122223333", "Developer", "https://corp.awsapps.com/start", func(o *ssocreds.Options) {
		o.SSOTokenProvider = ssocreds.NewSSOTokenProvider(oc, file)
	}).Retrieve(t.Context())
	if key, _, _ := ssotest.RoleCredentials("111122223333", "Developer"); err != nil || c.AccessKeyID != key {
		t.Errorf("ssocreds provider: %v %v", c.AccessKeyID, err)
	}

	other := newSSOServed(t, fake, "")
	other.env["HOME"], other.env["USERPROFILE"] = s.env["HOME"], s.env["HOME"]
	s.stop(t)
	other.start(t)
	if r := other.rawGet(t, "/v1/credentials/dev", other.token(t)); r.code != 200 {
		t.Errorf("a credd sharing the cache: %d %s", r.code, r.body)
	}
	if a := fake.Calls("Authorize"); a != 1 {
		t.Errorf("Authorize %d, want 1: the second credd took the cached session", a)
	}
	if !strings.Contains(other.logs.String(), "session taken from the AWS CLI cache") {
		t.Errorf("the log does not say where the session came from")
	}

	// credd logout signs out at the portal, removes the cache file it
	// wrote, and the profiles need a sign-in again.
	if code, out, errOut := other.run(t, "logout", "--session", "sso/corp"); code != 0 || !strings.Contains(out, "forgot sso/corp") {
		t.Fatalf("logout: %d %s %s", code, out, errOut)
	}
	if n := fake.Calls("Logout"); n != 1 {
		t.Errorf("portal Logout called %d times, want 1", n)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the cache file is still there after logout (%v)", err)
	}
	if st := other.status(t); len(st.Sessions) != 0 {
		t.Errorf("sessions after logout: %+v", st.Sessions)
	}
	other.stop(t)

	off := newSSOServed(t, fake, ", share_aws_cli_cache: false")
	off.start(t)
	if code, out, errOut := off.signIn(t, "--sso-session", "corp"); code != 0 {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(login.AWSCLICacheFile(off.env["HOME"], "corp")); !os.IsNotExist(err) {
		t.Errorf("share_aws_cli_cache: false, yet the cache was written (%v)", err)
	}
}

// awsSSOLogin does what `aws sso login` does with the SDK's own SSO OIDC
// client (the Debian AWS CLI 2.9 cannot be pointed at the fake): register a
// client, device authorization, the user's approval, CreateToken, and the
// token written to ~/.aws/sso/cache in the CLI's format.
func awsSSOLogin(t *testing.T, fake *ssotest.Server, home string) ssoCache {
	t.Helper()
	ctx := t.Context()
	oc := ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL)})
	reg, err := oc.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("botocore-client-corp"), ClientType: aws.String("public"),
		Scopes: []string{"sso:account:access"}})
	if err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	dev, err := oc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		StartUrl: aws.String("https://corp.awsapps.com/start")})
	if err != nil {
		t.Fatalf("StartDeviceAuthorization: %v", err)
	}
	if !fake.Approve(aws.ToString(dev.UserCode)) {
		t.Fatalf("the fake knows no user code %q", aws.ToString(dev.UserCode))
	}
	tok, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(ssotest.GrantDeviceCode), DeviceCode: dev.DeviceCode})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	c := ssoCache{
		StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1", AccessToken: aws.ToString(tok.AccessToken),
		ExpiresAt: time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second).UTC().Format(time.RFC3339),
		ClientID:  aws.ToString(reg.ClientId), ClientSecret: aws.ToString(reg.ClientSecret),
		RegistrationExpiresAt: time.Unix(reg.ClientSecretExpiresAt, 0).UTC().Format(time.RFC3339),
		RefreshToken:          aws.ToString(tok.RefreshToken),
	}
	writeSSOCache(t, home, "corp", c)
	return c
}

// eventually polls the daemon until path answers 200: credd reacts to a
// file written by another program.
func (s *served) eventually(t *testing.T, path string, token []byte) rawResp {
	t.Helper()
	var r rawResp
	waitFor(t, path+" to answer 200", func() bool {
		r = s.rawGet(t, path, token)
		return r.code == http.StatusOK
	})
	return r
}

// TestSSOFollowsAWSSSOLogin: a running credd takes the session of an
// `aws sso login` as soon as the CLI writes its cache: first when credd was
// never signed in, then after the Identity Center session ended and the
// profiles went login-required. No `credd login`, no restart.
func TestSSOFollowsAWSSSOLogin(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts})
	s := newSSOServed(t, fake, "")
	s.start(t)
	token := s.token(t)
	home := s.env["HOME"]
	if r := s.rawGet(t, "/v1/credentials/dev", token); r.code != http.StatusServiceUnavailable {
		t.Fatalf("before any sign-in: %d %s", r.code, r.body)
	}

	first := awsSSOLogin(t, fake, home)
	if r := s.eventually(t, "/v1/credentials/dev", token); r.code != http.StatusOK {
		t.Fatalf("after aws sso login: %d %s\n%s", r.code, r.body, s.logs)
	}
	if st := s.status(t); len(st.Sessions) != 1 || st.Sessions[0].State != "signed-in" {
		t.Errorf("sessions = %+v", st.Sessions)
	}

	// The Identity Center session ends: the portal refuses the token, the
	// profiles need a sign-in, and the user signs in with the AWS CLI.
	fake.EndSession()
	if r := s.rawGet(t, "/v1/credentials/ops", token); r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "credd login --sso-session corp") {
		t.Fatalf("after the session ended: %d %s", r.code, r.body)
	}
	second := awsSSOLogin(t, fake, home)
	if second.AccessToken == first.AccessToken {
		t.Fatal("the fake issued the same token twice")
	}
	if r := s.eventually(t, "/v1/credentials/ops", token); r.code != http.StatusOK {
		t.Fatalf("after the second aws sso login: %d %s\n%s", r.code, r.body, s.logs)
	}
	if st := s.status(t); len(st.Sessions) != 1 || st.Sessions[0].State != "signed-in" {
		t.Errorf("sessions = %+v", st.Sessions)
	}
	if a, d := fake.Calls("Authorize"), fake.Calls("CreateToken/"+ssotest.GrantDeviceCode); a != 0 || d != 2 {
		t.Errorf("browser sign-ins %d, device sign-ins %d; want none by credd, the two of the CLI", a, d)
	}
	if n := strings.Count(s.logs.String(), "session taken from the AWS CLI cache"); n != 2 {
		t.Errorf("the log says %d times that the session came from the AWS CLI cache, want 2", n)
	}
	noSSOSecrets(t, "the daemon's log", s.logs.String())
}

// TestSSOConfigInit: `credd config init --sso-session` lists every page of
// accounts and roles with the session's token, previews, writes with
// --write, and never replaces a profile.
func TestSSOConfigInit(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{PageSize: 1, Accounts: []ssotest.Account{
		{ID: "111122223333", Name: "dev", Roles: []string{"Developer", "ReadOnly"}},
		{ID: "444455556666", Name: "ops", Roles: []string{"Ops"}},
		{ID: "777788889999", Name: "Prod Account (EU)", Roles: []string{"Admin", "ReadOnly"}},
	}})
	s := newSSOServed(t, fake, "")
	s.writeConfig(t, "# my settings\n"+s.config(t))
	s.start(t)
	if code, _, errOut := s.run(t, "config", "init", "--sso-session", "corp"); code != cli.ExitLoginRequired || !strings.Contains(errOut, "credd login --sso-session corp") {
		t.Errorf("before sign-in: exit %d %s", code, errOut)
	}
	if code, out, errOut := s.signIn(t, "--sso-session", "corp"); code != 0 {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	before := s.config(t)
	code, out, errOut := s.run(t, "config", "init", "--sso-session", "corp")
	want := []string{
		`Prod-Account-EU/Admin: {sso_session: corp, account_id: "777788889999", role_name: Admin}`,
		`Prod-Account-EU/ReadOnly: {sso_session: corp, account_id: "777788889999", role_name: ReadOnly}`,
		`dev/Developer: {sso_session: corp, account_id: "111122223333", role_name: Developer}`,
		`dev/ReadOnly:`, `ops/Ops:`,
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("preview lacks %s:\n%s", w, out)
		}
	}
	if code != 0 || !strings.Contains(errOut, "--write") || s.config(t) != before {
		t.Errorf("preview: exit %d, %s; the file changed: %v", code, errOut, s.config(t) != before)
	}
	if n := fake.Calls("ListAccounts"); n != 3 {
		t.Errorf("ListAccounts %d calls, want 3 pages", n)
	}

	// {account} names collide with dev and ops: skipped, never replaced.
	code, out, errOut = s.run(t, "config", "init", "--sso-session", "corp", "--template", "{account}", "--write")
	if code != 0 || !strings.Contains(errOut, "skipped dev") || !strings.Contains(errOut, "skipped ops") || !strings.Contains(out, "Prod-Account-EU:") {
		t.Errorf("--template {account} --write: exit %d\n%s%s", code, out, errOut)
	}
	cfg := s.config(t)
	if !strings.HasPrefix(cfg, "# my settings\n") || !strings.Contains(cfg, `dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}`) {
		t.Errorf("the existing file was not kept:\n%s", cfg)
	}
	if code, _, errOut := s.run(t, "config", "check"); code != 0 {
		t.Errorf("config check after --write: %s\n%s", errOut, cfg)
	}
	if code, out, errOut := s.run(t, "reload"); code != 0 {
		t.Fatalf("reload: %s %s", out, errOut)
	}
	if r := s.rawGet(t, "/v1/credentials/Prod-Account-EU", s.token(t)); r.code != 200 {
		t.Errorf("the discovered profile: %d %s", r.code, r.body)
	}
	noSSOSecrets(t, "the output", out+errOut)
}

// TestSSOConfigInitThroughTheDaemon: discovery asks the running daemon,
// which holds the session, so it works with share_aws_cli_cache off; with
// no daemon and nothing usable in the cache, the error says to start it.
func TestSSOConfigInitThroughTheDaemon(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{Accounts: ssoAccounts})
	s := newSSOServed(t, fake, ", share_aws_cli_cache: false")
	s.start(t)
	if code, out, errOut := s.signIn(t, "--sso-session", "corp"); code != 0 {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	code, out, errOut := s.run(t, "config", "init", "--sso-session", "corp")
	if code != 0 || !strings.Contains(out, `dev/Developer: {sso_session: corp, account_id: "111122223333", role_name: Developer}`) || !strings.Contains(out, "ops/Ops:") {
		t.Errorf("config init through the daemon: exit %d\n%s%s", code, out, errOut)
	}
	if n := fake.Calls("ListAccounts"); n != 1 {
		t.Errorf("ListAccounts %d calls, want 1", n)
	}
	noSSOSecrets(t, "the output", out+errOut)

	fake.EndSession()
	if code, _, errOut := s.run(t, "config", "init", "--sso-session", "corp"); code != cli.ExitLoginRequired || !strings.Contains(errOut, "credd login --sso-session corp") {
		t.Errorf("after the session ended: exit %d %s", code, errOut)
	}
	if st := s.status(t); len(st.Sessions) != 1 || st.Sessions[0].State != "login-required" {
		t.Errorf("a refused listing leaves the session %+v; want login-required", st.Sessions)
	}

	s.stop(t)
	if code, _, errOut := s.run(t, "config", "init", "--sso-session", "corp"); code != cli.ExitLoginRequired || !strings.Contains(errOut, "credd is not running") {
		t.Errorf("no daemon, no cache: exit %d %s", code, errOut)
	}
}

// TestConfigInitImportsAWSConfig: `credd config init` turns the shared AWS
// config's sso-session and its profiles into credd's, previews first, and
// never replaces what is configured: an [sso-session] named as credd's but
// for another start URL is added under another name.
func TestConfigInitImportsAWSConfig(t *testing.T) {
	fake := ssotest.New(t, ssotest.Options{})
	s := newSSOServed(t, fake, "")
	writeFile(t, s.env["AWS_CONFIG_FILE"], `[profile dev]
sso_session = corp
sso_account_id = 999999999999
sso_role_name = Other

[profile billing]
sso_session = acme
sso_account_id = 222233334444
sso_role_name = Billing
region = us-west-2

[sso-session acme]
sso_start_url = https://acme.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[sso-session corp]
sso_start_url = https://elsewhere.awsapps.com/start
sso_region = us-east-1
`)
	before := s.config(t)
	code, out, errOut := s.run(t, "config", "init")
	if code != 0 || !strings.Contains(out, "billing: {sso_session: acme, account_id: \"222233334444\", role_name: Billing, region: us-west-2}") ||
		!strings.Contains(out, "start_url: https://acme.awsapps.com/start") || !strings.Contains(errOut, "[sso-session corp] is added as sso session corp-2") ||
		!strings.Contains(errOut, "skipped profile dev: already configured") || !strings.Contains(errOut, "--write") || s.config(t) != before {
		t.Fatalf("preview: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := s.run(t, "config", "init", "--write"); code != 0 || !strings.Contains(errOut, "added sso session acme, sso session corp-2, profile billing") {
		t.Fatalf("--write: %d %s", code, errOut)
	}
	cfg := s.config(t)
	if !strings.HasPrefix(cfg, before[:strings.Index(before, "sso_sessions:")]) || !strings.Contains(cfg, `dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}`) {
		t.Errorf("the existing configuration changed:\n%s", cfg)
	}
	if code, out, errOut := s.run(t, "config", "check"); code != 0 || !strings.Contains(out, "3 profile(s)") {
		t.Errorf("config check: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := s.run(t, "config", "init"); code != 0 || !strings.Contains(errOut, "nothing to import") {
		t.Errorf("a second import: %d %s", code, errOut)
	}
}
