package e2e

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/internal/signintest"
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
// (an `aws login` session) works through aws_profile today: the AWS SDK
// inside credd reads the login cache, renews expired credentials with the
// session's DPoP key against the Sign-In service, and boto3 reads what
// credd serves through IMDS.
func TestAWSProfileLoginSession(t *testing.T) {
	py := requireBoto3(t)
	f := signintest.New(t, signintest.Options{})
	cache := filepath.Join(t.TempDir(), "login-cache")
	tok := signedInCache(t, f, cache)
	awsConfig := fmt.Sprintf(`[profile console]
login_session = %s
region = eu-west-1
services = fakes

[services fakes]
signin =
  endpoint_url = %s
`, f.Session(), f.URL)
	cleanAWSEnv(t)
	t.Setenv("AWS_LOGIN_CACHE_DIRECTORY", cache)

	// The credentials in the cache have expired: the SDK must renew.
	path := login.LoginCacheFile(cache, f.Session())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	expired := tok
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := login.WriteLoginCache(path, expired); err != nil {
		t.Fatal(err)
	}
	c := startCredd(t, "default_profile: console\nprofiles:\n  console: {aws_profile: console}\n", awsConfig)

	var got boto3Creds
	runClient(t, clientEnv(t, map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.imdsEndpoint()}), t.TempDir(), py, "-c", boto3CredsScript).decodeOutput(t, &got)
	want := f.LastCredentials()
	if got.AccessKey != want.AccessKeyID || got.SecretKey != want.SecretAccessKey || got.Token != want.SessionToken {
		t.Fatalf("boto3 got key %s, want the renewed %s (cache was %d bytes; refused: %q)", got.AccessKey, want.AccessKeyID, len(raw), f.Refusals())
	}
	if got.Method != "iam-role" {
		t.Errorf("botocore used %q, want iam-role (IMDS)", got.Method)
	}
	if n := f.Calls("CreateOAuth2Token/refresh_token"); n != 1 {
		t.Errorf("renewals = %d, want 1 (by the SDK inside credd)", n)
	}
	// The SDK wrote the renewal back where `aws` finds it.
	back, err := login.ReadLoginCache(path)
	if err != nil || back.Extra[login.ExtraAccessKeyID] != want.AccessKeyID {
		t.Errorf("cache after the renewal: %v %v", back.Extra[login.ExtraAccessKeyID], err)
	}
}
