package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/credd/credd/cmd/credd/cli"
	"github.com/credd/credd/control"
	"github.com/credd/credd/internal/ststest"
)

// oidcPeer is mockoidc (authorization code + PKCE, refresh tokens) with a
// count of refresh grants and a switch that makes it refuse them, as a
// provider does when a refresh token is revoked.
type oidcPeer struct {
	*mockoidc.MockOIDC
	refreshes *atomic.Int64
	revoked   atomic.Bool
}

func startMockOIDC(t *testing.T) (*mockoidc.MockOIDC, *atomic.Int64) {
	p := startOIDCPeer(t)
	return p.MockOIDC, p.refreshes
}

func startOIDCPeer(t *testing.T) *oidcPeer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mockoidc.NewServer(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &oidcPeer{MockOIDC: m, refreshes: &atomic.Int64{}}
	// Middleware must be added before Start, which builds the chain.
	_ = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/token") {
				_ = r.ParseForm()
				if r.PostForm.Get("grant_type") == "refresh_token" {
					p.refreshes.Add(1)
					if p.revoked.Load() {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusBadRequest)
						_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token revoked"}`))
						return
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// signIn runs `credd login` as a user would, with the browser replaced by
// an HTTP client that follows the authorize redirect (mockoidc approves
// at once) back to credd's loopback callback.
func (s *served) signIn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	io := s.io(nil, nil)
	io.Out, io.Err = &out, &errOut
	io.OpenURL = func(u string) error {
		go func() {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	code := cli.Run(t.Context(), append([]string{"--config", s.cfgPath, "login"}, args...), io)
	return code, out.String(), errOut.String()
}

var roleARN = regexp.MustCompile(`arn:minio:iam:::role/[A-Za-z0-9_-]+`)

// TestOIDCWithMinIO: sign in to mockoidc through the daemon, have credd
// assume a MinIO role with the ID token (MinIO verifies it against the
// provider's JWKS), and use what credd serves for S3; then renew with the
// refresh token, and lose the session when the provider refuses it.
func TestOIDCWithMinIO(t *testing.T) {
	peer := startOIDCPeer(t)
	m, refreshes := peer.MockOIDC, peer.refreshes
	m.AccessTTL = 4 * time.Minute // under credd's 5-minute renewal margin: every use renews
	minio, _, _, out := startMinioEnv(t,
		"MINIO_IDENTITY_OPENID_CONFIG_URL="+m.DiscoveryEndpoint(),
		"MINIO_IDENTITY_OPENID_CLIENT_ID="+m.ClientID,
		"MINIO_IDENTITY_OPENID_CLIENT_SECRET="+m.ClientSecret,
		"MINIO_IDENTITY_OPENID_ROLE_POLICY=readwrite",
		"MINIO_IDENTITY_OPENID_SCOPES=openid,email",
	)
	var arn string
	for deadline := time.Now().Add(10 * time.Second); arn == ""; time.Sleep(50 * time.Millisecond) {
		arn = roleARN.FindString(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("MinIO logged no role ARN:\n%s", out.String())
		}
	}
	s := newServed(t, fmt.Sprintf(`sts: {endpoint: %q}
default_profile: app
identity_providers:
  mock:
    issuer: %q
    client_id: %q
    client_secret_env: MOCK_SECRET
profiles:
  app: {identity_provider: mock, role_arn: %q, duration: 1h}
  other: {identity_provider: mock, role_arn: %q, session_name_claim: sub}
`, minio, m.Issuer(), m.ClientID, arn, arn), "")
	s.env["MOCK_SECRET"] = m.ClientSecret
	s.start(t)
	token := s.token(t)

	// Before any sign-in: 503 naming the command, state login-required.
	resp := s.rawGet(t, "/v1/credentials/app", token)
	if resp.code != 503 || !strings.Contains(resp.body, "credd login --provider mock") {
		t.Fatalf("before sign-in: %d %s", resp.code, resp.body)
	}
	if st := s.status(t); st.Profiles[0].State != "login-required" {
		t.Errorf("state before sign-in = %s", st.Profiles[0].State)
	}
	if code, _, errOut := s.run(t, "export", "--profile", "app"); code != cli.ExitLoginRequired {
		t.Errorf("export before sign-in: exit %d (%s), want 4", code, errOut)
	}

	code, outText, errText := s.signIn(t, "--provider", "mock")
	if code != 0 || !strings.Contains(outText, "Signed in to oidc/mock") || !strings.Contains(outText, "Ready: app, other") {
		t.Fatalf("credd login: exit %d\n%s%s\n%s", code, outText, errText, s.logs)
	}

	t.Run("aws-sdk-go-v2 uses the role on MinIO", func(t *testing.T) {
		cleanAWSEnv(t)
		cfg, c := goSDKFromContainer(t, s.url+"/v1/credentials/app", "AWS_CONTAINER_AUTHORIZATION_TOKEN", string(token))
		if c.SessionToken == "" {
			t.Fatal("no session token: want the role's session credentials")
		}
		minioS3Bucket(t, cfg, minio, "oidc-go")
	})
	t.Run("boto3 uses the role on MinIO", func(t *testing.T) {
		py := minioPython(t)
		env := minioPeerEnv(t, &credd{URL: s.url, Token: string(token)}, "/v1/credentials/app")
		script := fmt.Sprintf(`import boto3
s3 = boto3.client("s3", endpoint_url=%q)
s3.create_bucket(Bucket="oidc-boto3")
print(sorted(b["Name"] for b in s3.list_buckets()["Buckets"]))`, minio)
		outb := minioRunPeer(t, env, py, "-c", script)
		if !strings.Contains(string(outb), "oidc-boto3") {
			t.Errorf("boto3: %s", outb)
		}
	})
	t.Run("AWS CLI 2.9 uses the role on MinIO", func(t *testing.T) {
		requireDebianAWSCLI(t)
		env := minioPeerEnv(t, &credd{URL: s.url, Token: string(token)}, "/v1/credentials/app")
		minioRunPeer(t, env, "/usr/bin/aws", "--endpoint-url", minio, "s3", "mb", "s3://oidc-cli")
		outb := minioRunPeer(t, env, "/usr/bin/aws", "--endpoint-url", minio, "s3", "ls")
		if !strings.Contains(string(outb), "oidc-cli") {
			t.Errorf("aws s3 ls: %s", outb)
		}
	})
	if refreshes.Load() == 0 {
		t.Errorf("the 4-minute ID token was never renewed with the refresh token")
	}
	if st := s.status(t); len(st.Sessions) != 1 || st.Sessions[0].Name != "oidc/mock" || st.Sessions[0].Kind != "oidc" {
		t.Errorf("sessions = %+v", st.Sessions)
	}
	if strings.Contains(s.logs.String(), m.ClientSecret) {
		t.Errorf("the client secret reached the logs")
	}

	t.Run("restart with the stored session needs no sign-in", func(t *testing.T) {
		s.stop(t)
		s.start(t)
		if r := s.rawGet(t, "/v1/credentials/app", token); r.code != 200 {
			t.Errorf("after restart: %d %s", r.code, r.body)
		}
	})

	t.Run("a refused refresh token makes the session login-required", func(t *testing.T) {
		peer.revoked.Store(true)
		// A fresh process: its first use of the 4-minute token renews it,
		// and the provider refuses. The session ends there: it says it
		// needs a sign-in, naming the command, and every profile of it
		// answers 503 however long its role credentials would last.
		s.stop(t)
		s.start(t)
		s.rawGet(t, "/v1/credentials/other", token)
		st := s.status(t)
		if len(st.Sessions) != 1 || st.Sessions[0].State != "login-required" || !strings.Contains(st.Sessions[0].Error, "credd login --provider mock") ||
			st.Sessions[0].Login != "credd login --provider mock" {
			t.Fatalf("sessions after the refusal: %+v", st.Sessions)
		}
		if n, ok := s.nextNote(t); !ok {
			t.Errorf("no desktop notification that the session needs a sign-in")
		} else if !strings.Contains(n, "sign-in required") || !strings.Contains(n, "credd login --provider mock") {
			t.Errorf("notification %q", n)
		}
		if r := s.rawGet(t, "/v1/credentials/app", token); r.code != 503 || !strings.Contains(r.body, "credd login --provider mock") {
			t.Errorf("app after the refusal: %d %s; want 503 naming the sign-in", r.code, r.body)
		}
		if st := s.status(t); len(st.Profiles) == 0 || st.Profiles[0].State != "login-required" {
			t.Errorf("profiles after the refusal: %+v", st.Profiles)
		}
		if len(s.notes) != 0 {
			t.Errorf("notified more than once: %q", <-s.notes)
		}
		// Signing in again brings it back.
		peer.revoked.Store(false)
		if code, outText, _ := s.signIn(t, "--profile", "other"); code != 0 || !strings.Contains(outText, "other") {
			t.Errorf("sign in again: %d %s", code, outText)
		}
		if st := s.status(t); st.Sessions[0].State != "signed-in" {
			t.Errorf("after signing in again: %+v", st.Sessions)
		}
	})
}

// startMockServed runs credd with one profile, app, behind a mockoidc
// provider "mock" (a confidential client whose secret is in MOCK_SECRET,
// unless withSecret is false).
func startMockServed(t *testing.T, withSecret bool) *served {
	t.Helper()
	m, _ := startMockOIDC(t)
	s := newServed(t, fmt.Sprintf(`identity_providers:
  mock: {issuer: %q, client_id: %q, client_secret_env: MOCK_SECRET}
profiles:
  app: {identity_provider: mock, role_arn: "arn:aws:iam::111122223333:role/app"}
`, m.Issuer(), m.ClientID), "")
	if withSecret {
		s.env["MOCK_SECRET"] = m.ClientSecret
	}
	s.start(t)
	return s
}

// TestLoginCancel: Ctrl-C on `credd login` cancels the flow in the
// daemon too; a second login starts a new flow.
func TestLoginCancel(t *testing.T) {
	s := startMockServed(t, true)
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut strings.Builder
	io := s.io(nil, nil)
	io.Out, io.Err = &out, &errOut
	opened := make(chan string, 1)
	io.OpenURL = func(u string) error { opened <- u; return nil } // the user never signs in
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, []string{"--config", s.cfgPath, "login", "--provider", "mock"}, io) }()
	<-opened
	cancel() // Ctrl-C
	if code := <-done; code != cli.ExitFailure || !strings.Contains(errOut.String(), "sign-in cancelled") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(s.logs.String(), `"msg":"sign-in failed"`) || !strings.Contains(s.logs.String(), "cancelled") {
		t.Errorf("the daemon's flow was not cancelled:\n%s", s.logs)
	}
	if code, o, e := s.signIn(t, "--provider", "mock"); code != 0 {
		t.Errorf("a new sign-in after the cancel: %d %s %s", code, o, e)
	}
}

// TestLoginCancelLeavesOthersWaiting: two terminals wait on one sign-in;
// Ctrl-C in one leaves the flow running for the other, which completes.
// A --device login asked for while that browser flow waits is refused,
// naming what to do, rather than quietly joining it.
func TestLoginCancelLeavesOthersWaiting(t *testing.T) {
	s := startMockServed(t, true)
	opened := make(chan string, 2)
	type terminal struct {
		cancel      context.CancelFunc
		done        chan int
		out, errOut strings.Builder
	}
	login := func(args ...string) *terminal {
		ctx, cancel := context.WithCancel(t.Context())
		tm := &terminal{cancel: cancel, done: make(chan int, 1)}
		io := s.io(nil, nil)
		io.Out, io.Err = &tm.out, &tm.errOut
		io.OpenURL = func(u string) error { opened <- u; return nil } // nobody signs in yet
		go func() {
			tm.done <- cli.Run(ctx, append([]string{"--config", s.cfgPath, "login", "--provider", "mock"}, args...), io)
		}()
		return tm
	}
	first := login()
	u := <-opened
	second := login()
	<-opened       // the second terminal joined the same flow: the same link
	first.cancel() // Ctrl-C in the first terminal
	if code := <-first.done; code == 0 {
		t.Errorf("the cancelled terminal exited 0: %s", first.out.String())
	}

	device := login("--device")
	if code := <-device.done; code == 0 || !strings.Contains(device.errOut.String(), "browser sign-in") || !strings.Contains(device.errOut.String(), "credd login --provider mock --device") {
		t.Errorf("--device while a browser sign-in waits: exit %d: %s%s", code, device.out.String(), device.errOut.String())
	}

	// The user signs in in the browser: the second terminal gets it.
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case code := <-second.done:
		if code != 0 || !strings.Contains(second.out.String(), "app") {
			t.Errorf("the terminal still waiting: exit %d: %s%s", code, second.out.String(), second.errOut.String())
		}
	case <-time.After(time.Minute):
		second.cancel()
		t.Fatalf("the second terminal never finished: the first one's Ctrl-C ended the flow?\n%s", s.logs)
	}
}

// TestLoginWithoutTheClientSecret: a confidential client whose
// client_secret_env is unset in the daemon's environment is refused at
// once, naming the variable, instead of failing at the provider.
func TestLoginWithoutTheClientSecret(t *testing.T) {
	s := startMockServed(t, false) // no MOCK_SECRET
	code, out, errOut := s.signIn(t, "--provider", "mock")
	if code == 0 || !strings.Contains(errOut, "MOCK_SECRET") || !strings.Contains(errOut, "restart credd") {
		t.Errorf("exit %d: %s%s; want a refusal naming MOCK_SECRET", code, out, errOut)
	}
	if !strings.Contains(s.logs.String(), `"client_secret_env":"MOCK_SECRET"`) {
		t.Errorf("the daemon did not warn at start:\n%s", s.logs)
	}
}

// TestOIDCBrokerMode: a broker profile calls AssumeRole with its source
// profile's credentials and session tags from the verified ID token's
// claims; a missing claim names the claim.
func TestOIDCBrokerMode(t *testing.T) {
	m, _ := startMockOIDC(t)
	sts := ststest.New(t)
	s := newServed(t, fmt.Sprintf(`sts: {endpoint: %q}
identity_providers:
  mock: {issuer: %q, client_id: %q, client_secret_env: MOCK_SECRET}
default_profile: tenant
profiles:
  keys: {aws_profile: keys}
  tenant:
    source_profile: keys
    role_arn: arn:aws:iam::111122223333:role/tenant-data
    identity_provider: mock
    session_tags: {team: data}
    session_tags_from_claims: {Email: email, Subject: sub}
    transitive_tag_keys: [Email]
  missing:
    source_profile: keys
    role_arn: arn:aws:iam::111122223333:role/tenant-data
    identity_provider: mock
    session_tags_from_claims: {Tenant: tenant_id}
`, sts.URL, m.Issuer(), m.ClientID), "[profile keys]\naws_access_key_id = AKIABROKER\naws_secret_access_key = broker-secret\n")
	s.env["MOCK_SECRET"] = m.ClientSecret
	s.start(t)
	code, outText, errText := s.signIn(t, "--provider", "mock")
	if code != 0 {
		t.Fatalf("login: %d %s %s", code, outText, errText)
	}
	if !strings.Contains(outText, "Ready: tenant") || !strings.Contains(outText, `Not ready: missing:`) || !strings.Contains(outText, `claim "tenant_id" (for tag Tenant)`) {
		t.Errorf("login output:\n%s", outText)
	}
	var form map[string]string
	for _, req := range sts.Requests() {
		if req.Get("RoleSessionName") != "" && req.Get("Action") == "AssumeRole" && req.Get("Tags.member.1.Key") != "" {
			form = map[string]string{}
			for k := range req {
				form[k] = req.Get(k)
			}
		}
	}
	want := map[string]string{
		"Tags.member.1.Key": "Email", "Tags.member.1.Value": "jane.doe@example.com",
		"Tags.member.2.Key": "Subject", "Tags.member.2.Value": mockoidc.DefaultUser().Subject,
		"Tags.member.3.Key": "team", "Tags.member.3.Value": "data",
		"TransitiveTagKeys.member.1": "Email",
	}
	for k, v := range want {
		if form[k] != v {
			t.Errorf("STS got %s = %q, want %q (request %v)", k, form[k], v, form)
		}
	}
	if auth := sts.Auth(); len(auth) == 0 || !strings.Contains(auth[len(auth)-1], "Credential=AKIABROKER/") {
		t.Errorf("AssumeRole not signed with the source profile's key: %q", auth)
	}
	for _, req := range sts.Requests() {
		if req.Get("Action") == "AssumeRole" && strings.Contains(fmt.Sprint(req), "Tenant") {
			t.Errorf("a request went out for the profile with a missing claim: %v", req)
		}
	}
}

// TestOIDCSTSErrorsNameTheProviderAndProfile: STS refusals of the web
// identity reach the client with the profile, the provider and the next
// step; other profiles are not disturbed.
func TestOIDCSTSErrorsNameTheProviderAndProfile(t *testing.T) {
	m, _ := startMockOIDC(t)
	sts := ststest.New(t)
	s := newServed(t, fmt.Sprintf(`sts: {endpoint: %q}
identity_providers:
  mock: {issuer: %q, client_id: %q, client_secret_env: MOCK_SECRET}
profiles:
  app: {identity_provider: mock, role_arn: "arn:aws:iam::111122223333:role/app"}
  keys: {aws_profile: keys}
  chained: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/x"}
`, sts.URL, m.Issuer(), m.ClientID), "[profile keys]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = s\n")
	s.env["MOCK_SECRET"] = m.ClientSecret
	s.start(t)
	if code, o, e := s.signIn(t, "--provider", "mock"); code != 0 {
		t.Fatalf("login: %d %s %s", code, o, e)
	}
	token := s.token(t)
	for _, tc := range []struct{ code, want string }{
		{"InvalidIdentityToken", "STS does not trust tokens of mock"},
		{"ExpiredTokenException", "credd login --provider mock"},
		{"AccessDenied", "trust policy refuses this identity"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			sts.Fail(tc.code)
			defer sts.Fail("")
			_, err := s.reloadFresh(t, "app")
			if err == nil {
				t.Fatal("no error")
			}
			r := s.rawGet(t, "/v1/credentials/app", token)
			if r.code != 503 || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, "profile app") {
				t.Errorf("%d %s", r.code, r.body)
			}
		})
	}
	if r := s.rawGet(t, "/v1/credentials/chained", token); r.code != 200 {
		t.Errorf("another profile was disturbed: %d %s", r.code, r.body)
	}
}

type rawResp struct {
	code int
	body string
}

func (s *served) rawGet(t *testing.T, path string, token []byte) rawResp {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	req.Header.Set("Authorization", string(token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(resp))
	return rawResp{resp.StatusCode, b.String()}
}

func readAll(resp *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

// reloadFresh makes the profile fetch anew: edit nothing, but force a new
// refresher by toggling its duration, then ask for credentials.
func (s *served) reloadFresh(t *testing.T, profile string) (aws.Credentials, error) {
	t.Helper()
	cfg := s.config(t)
	mark := "duration: 1h"
	line := "  " + profile + ": {"
	if strings.Contains(cfg, line+"identity_provider: mock, role_arn: \"arn:aws:iam::111122223333:role/app\", "+mark+"}") {
		cfg = strings.Replace(cfg, ", "+mark+"}", "}", 1)
	} else {
		cfg = strings.Replace(cfg, line+"identity_provider: mock, role_arn: \"arn:aws:iam::111122223333:role/app\"}", line+"identity_provider: mock, role_arn: \"arn:aws:iam::111122223333:role/app\", "+mark+"}", 1)
	}
	s.writeConfig(t, cfg)
	if code, _, e := s.run(t, "reload"); code != 0 {
		t.Fatalf("reload: %s", e)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := control.NewClient(s.stateDir).Credentials(ctx, profile, control.ForExport)
	return aws.Credentials{}, err
}
