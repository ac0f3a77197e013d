package e2e

import (
	"bytes"
	"fmt"
	io2 "io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/credd/credd/cmd/credd/cli"
	"github.com/credd/credd/internal/signintest"
	"github.com/credd/credd/internal/ststest"
	"github.com/credd/credd/login"
)

// signedInCache signs in to the fake Sign-In service the way `aws login`
// does (browser flow, PKCE, DPoP) and leaves the session in the login
// cache dir, as the AWS CLI would.
func signedInCache(t *testing.T, f *signintest.Server, dir string) login.Tokens {
	t.Helper()
	m := &login.SignIn{Region: "eu-west-1", Endpoint: f.URL, Session: f.Session(), CacheDir: dir}
	var wg sync.WaitGroup
	defer wg.Wait()
	s := login.New(t.Context(), "signin/aws-login", m, login.Options{Logger: slog.New(slog.DiscardHandler)})
	fl, err := s.Begin(t.Context(), &wg, login.FlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fl.URL) // the browser: the fake approves and redirects to the callback
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-fl.Done()
	if err := fl.Err(); err != nil {
		t.Fatalf("sign-in: %v (refused: %q)", err, f.Refusals())
	}
	tok, err := s.Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestAWSProfileLoginSession: a `login_session` profile of ~/.aws/config
// (an `aws login` session) served through aws_profile is held by credd's
// own session, not the AWS SDK inside credd: credd takes the session from
// the login cache, renews its expired credentials with the session's DPoP
// key against the Sign-In service, writes the renewal back where `aws`
// finds it, and boto3 reads what credd serves through IMDS.
func TestAWSProfileLoginSession(t *testing.T) {
	py := requireBoto3(t)
	f := signintest.New(t, signintest.Options{})
	cache := filepath.Join(t.TempDir(), "login-cache")
	tok := signedInCache(t, f, cache)
	awsConfig := fmt.Sprintf(`[profile console]
login_session = %s
region = eu-west-1
`, f.Session())
	cleanAWSEnv(t)

	// The credentials in the cache have expired: credd must renew.
	path := login.LoginCacheFile(cache, f.Session())
	expired := tok
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := login.WriteLoginCache(path, expired); err != nil {
		t.Fatal(err)
	}
	c := startCredd(t, fmt.Sprintf("default_profile: console\nsignin: {endpoint: %q}\nprofiles:\n  console: {aws_profile: console}\n", f.URL), awsConfig,
		func(_ *testing.T, s setup) { s.deps.LoginCacheDir = cache })

	var got boto3Creds
	runClient(t, clientEnv(t, map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.imdsEndpoint()}), t.TempDir(), py, "-c", boto3CredsScript).decodeOutput(t, &got)
	want := f.LastCredentials()
	if got.AccessKey != want.AccessKeyID || got.SecretKey != want.SecretAccessKey || got.Token != want.SessionToken {
		t.Fatalf("boto3 got key %s, want the renewed %s (refused: %q)", got.AccessKey, want.AccessKeyID, f.Refusals())
	}
	if got.Method != "iam-role" {
		t.Errorf("botocore used %q, want iam-role (IMDS)", got.Method)
	}
	if n := f.Calls("CreateOAuth2Token/refresh_token"); n != 1 {
		t.Errorf("renewals = %d, want 1 (by credd's session)", n)
	}
	if st := c.D.Status(); len(st) != 1 || st[0].Source != "login_session" {
		t.Errorf("status %+v, want console served as login_session", st)
	}
	// credd wrote the renewal back where `aws` finds it.
	back, err := login.ReadLoginCache(path)
	if err != nil || back.Extra[login.ExtraAccessKeyID] != want.AccessKeyID {
		t.Errorf("cache after the renewal: %v %v", back.Extra[login.ExtraAccessKeyID], err)
	}
}

// TestAWSProfileLoginSessionWithARole: a profile of ~/.aws/config that
// assumes a role_arn with its login_session is served the role's
// credentials, as the AWS SDK serves it, not the session's own: credd
// leaves it to the SDK (which assumes the role with the session's
// credentials from the login cache) rather than taking it over as its own
// login_session profile.
func TestAWSProfileLoginSessionWithARole(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	sts := ststest.New(t)
	cache := filepath.Join(t.TempDir(), "login-cache")
	signedInCache(t, f, cache)
	session := f.LastCredentials()
	awsConfig := fmt.Sprintf(`[profile ops]
login_session = %s
role_arn = arn:aws:iam::111122223333:role/ops
role_session_name = e2e-ops
region = eu-west-1
services = fakes

[services fakes]
sts =
  endpoint_url = %s
signin =
  endpoint_url = %s
`, f.Session(), sts.URL, f.URL)
	cleanAWSEnv(t)
	t.Setenv("AWS_LOGIN_CACHE_DIRECTORY", cache) // for the SDK inside credd
	c := startCredd(t, fmt.Sprintf("signin: {endpoint: %q}\nprofiles:\n  ops: {aws_profile: ops}\n", f.URL), awsConfig,
		func(_ *testing.T, s setup) { s.deps.LoginCacheDir = cache })

	status, body, doc := getContainerCreds(t, c, "ops")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if doc.AccessKeyId != "ASIAFAKEASSUMEROLE" || doc.AccessKeyId == session.AccessKeyID {
		t.Errorf("served key %s, want the role's (ASIAFAKEASSUMEROLE), not the session's %s", doc.AccessKeyId, session.AccessKeyID)
	}
	if calls := sts.CallsOf("AssumeRole"); len(calls) != 1 || calls[0].AccessKeyID != session.AccessKeyID || calls[0].Form.Get("RoleArn") != "arn:aws:iam::111122223333:role/ops" {
		t.Errorf("AssumeRole calls %+v, want one for role/ops signed with the session's key %s", calls, session.AccessKeyID)
	}
	if st := c.D.Status(); len(st) != 1 || st[0].Source != "aws_profile" {
		t.Errorf("status %+v, want ops served as aws_profile (the SDK's)", st)
	}
}

// TestSignInLoginServesClients: `credd login --signin` signs in (browser,
// PKCE, DPoP) through the running daemon; boto3 gets the session's
// credentials through IMDS, and boto3's own `login_session` provider finds
// them fresh in the AWS CLI's login cache and never renews (no second
// refresher to rotate the refresh token). Then the cross-device sign-in
// with --remote: a wrong code is refused, the pasted one signs in.
func TestSignInLoginServesClients(t *testing.T) {
	py := requireBoto3(t)
	f := signintest.New(t, signintest.Options{})
	s := newServed(t, fmt.Sprintf("default_profile: console\nsignin: {endpoint: %q}\nprofiles:\n  console: {login_session: %q, region: eu-west-1}\n", f.URL, f.Session()), "")
	s.start(t)

	var out, errOut bytes.Buffer
	io := s.io(&out, &errOut)
	io.OpenURL = func(u string) error { go browseTo(u); return nil } // the browser signs in at once
	if code := cli.Run(t.Context(), []string{"--config", s.cfgPath, "login", "--signin"}, io); code != 0 {
		t.Fatalf("credd login --signin: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "Signed in to signin/111122223333/assumed-role/Admin/alice.") || !strings.Contains(out.String(), "Ready: console") {
		t.Errorf("credd login said:\n%s", out.String())
	}
	want := f.LastCredentials()

	var got boto3Creds
	runClient(t, clientEnv(t, map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": s.url + "/"}), t.TempDir(), py, "-c", boto3CredsScript).decodeOutput(t, &got)
	if got.AccessKey != want.AccessKeyID || got.Token != want.SessionToken || got.Method != "iam-role" {
		t.Fatalf("boto3 through IMDS: key %s via %s, want %s", got.AccessKey, got.Method, want.AccessKeyID)
	}

	// The AWS SDK for Go's own login_session provider, on credd's cache
	// (botocore's needs awscrt, which this machine lacks).
	cfgFile := filepath.Join(t.TempDir(), "config")
	writeFile(t, cfgFile, fmt.Sprintf("[profile console]\nlogin_session = %s\nregion = eu-west-1\n", f.Session()))
	t.Setenv("AWS_LOGIN_CACHE_DIRECTORY", filepath.Join(s.dir, ".aws", "login", "cache"))
	t.Setenv("AWS_ENDPOINT_URL_SIGNIN", f.URL)
	sdk, err := awsconfig.LoadDefaultConfig(t.Context(), awsconfig.WithSharedConfigFiles([]string{cfgFile}),
		awsconfig.WithSharedCredentialsFiles([]string{filepath.Join(t.TempDir(), "none")}), awsconfig.WithSharedConfigProfile("console"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sdk.Credentials.Retrieve(t.Context())
	if err != nil || sc.AccessKeyID != want.AccessKeyID || sc.SecretAccessKey != want.SecretAccessKey {
		t.Fatalf("the Go SDK's login provider: %s %v, want credd's %s", sc.AccessKeyID, err, want.AccessKeyID)
	}
	if n := f.Calls("CreateOAuth2Token/refresh_token"); n != 0 {
		t.Errorf("renewals = %d, want 0: credd's credentials were fresh", n)
	}

	// The JavaScript SDK v3: through IMDS, and its own login_session
	// provider on credd's cache (fresh: it renews nothing).
	t.Run("JavaScript SDK", func(t *testing.T) {
		node, dir := requireJSSDK(t)
		for _, tc := range []struct {
			mode string
			env  map[string]string
		}{
			{"imds", map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": s.url + "/"}},
			{"login", map[string]string{"AWS_PROFILE": "console", "AWS_CONFIG_FILE": cfgFile,
				"AWS_LOGIN_CACHE_DIRECTORY": filepath.Join(s.dir, ".aws", "login", "cache")}},
		} {
			var got jsCreds
			runClient(t, clientEnv(t, tc.env), dir, node, "creds.mjs", tc.mode).decodeOutput(t, &got)
			if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey || got.SessionToken != want.SessionToken {
				t.Errorf("%s: key %s, want credd's %s", tc.mode, got.AccessKeyID, want.AccessKeyID)
			}
		}
		if n := f.Calls("CreateOAuth2Token/refresh_token"); n != 0 {
			t.Errorf("renewals = %d, want 0: credd's credentials were fresh", n)
		}
	})

	// Cross-device: log out, then sign in with --remote, pasting codes.
	if code, _, e := s.run(t, "logout"); code != 0 {
		t.Fatalf("logout: %s", e)
	}
	pr, pw := io2.Pipe()
	var rout lockedBuffer
	rio := s.io(nil, &errOut)
	rio.In, rio.Out = pr, &rout
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Run(t.Context(), []string{"--config", s.cfgPath, "login", "--signin", "--profile", "console", "--remote"}, rio)
	}()
	var authURL string
	deadline := time.Now().Add(time.Minute)
	for authURL == "" && time.Now().Before(deadline) {
		for _, line := range strings.Split(rout.String(), "\n") {
			if u := strings.TrimSpace(line); strings.HasPrefix(u, f.URL+"/v1/authorize?") {
				authURL = u
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if authURL == "" {
		t.Fatalf("no sign-in URL in:\n%s", rout.String())
	}
	code, ok := signintest.PageCode(browseTo(authURL))
	if !ok {
		t.Fatal("no code on the confirmation page")
	}
	fmt.Fprintln(pw, signintest.VerificationCode("not-it", "x"))
	fmt.Fprintln(pw, code)
	select {
	case c := <-exit:
		if c != 0 || !strings.Contains(rout.String(), "paste it again") || !strings.Contains(rout.String(), "Ready: console") {
			t.Fatalf("credd login --remote: exit %d\n%s", c, rout.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("credd login --remote did not end:\n%s", rout.String())
	}
	pw.Close()
	if r := s.rawGet(t, "/v1/credentials/console", s.token(t)); r.code != 200 || !strings.Contains(r.body, f.LastCredentials().AccessKeyID) {
		t.Errorf("after the cross-device sign-in: %d %s", r.code, r.body)
	}
}

// browseTo is a browser: it follows u and returns the last page.
func browseTo(u string) string {
	resp, err := http.Get(u)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io2.ReadAll(resp.Body)
	return string(b)
}
