package e2e

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/internal/ssotest"
	"github.com/credd/credd/internal/ststest"
	"github.com/credd/credd/refresh"
)

// These tests prove two more kinds of `aws_profile` end to end: the AWS SDK
// inside credd resolves the profile against fakes of the AWS services it
// calls, and SDK clients read the result from credd's container endpoint.
// The SDK is pointed at the fakes the only way it honours for the clients
// it builds inside a credential chain: a `[services NAME]` section of the
// AWS config (see TestMinio for why a plain endpoint_url does not do).

// containerCreds is the container endpoint's JSON document.
type containerCreds struct {
	AccessKeyId, SecretAccessKey, Token, Expiration, AccountId, RoleArn string
	Code, Message                                                       string
}

// getContainerCreds GETs /v1/credentials/<profile> with the client token
// and returns the status, the raw body and the decoded document.
func getContainerCreds(t *testing.T, c *credd, profile string) (int, string, containerCreds) {
	t.Helper()
	resp := c.get(t, "/v1/credentials/"+profile, map[string]string{"Authorization": c.Token})
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var doc containerCreds
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET /v1/credentials/%s: status %d, body %q is not JSON: %v", profile, resp.StatusCode, body, err)
	}
	return resp.StatusCode, string(body), doc
}

// fakeJWT is an unsigned JWT with these claims: STS (and the fake) read the
// claims; only real STS would check the signature.
func fakeJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "e2e"}) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("not-a-signature"))
}

// TestAWSProfileWebIdentity: a profile with web_identity_token_file and
// role_arn makes the SDK call sts:AssumeRoleWithWebIdentity, unsigned, with
// the token read from the file; credd serves the role's credentials as they
// are (no GetSessionToken on top).
func TestAWSProfileWebIdentity(t *testing.T) {
	const (
		roleARN   = "arn:aws:iam::111122223333:role/ci-deployer"
		accountID = "111122223333"
		wantKey   = "ASIAFAKEASSUMEROLEWITHWEBIDENTITY" // what ststest issues for this action
	)
	fake := ststest.New(t)
	token := fakeJWT(t, map[string]any{
		"iss": "https://issuer.example.com",
		"sub": "system:serviceaccount:ci:deployer",
		"aud": "sts.amazonaws.com",
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	tokenFile := filepath.Join(t.TempDir(), "web-identity-token")
	writeFile(t, tokenFile, token)
	awsConfig := fmt.Sprintf(`[profile web]
role_arn = %s
web_identity_token_file = %s
role_session_name = e2e-web
region = us-east-1
services = fakes

[services fakes]
sts =
  endpoint_url = %s
`, roleARN, tokenFile, fake.URL)
	cleanAWSEnv(t) // before credd starts: its SDK must not see AWS_WEB_IDENTITY_TOKEN_FILE or AWS_ROLE_ARN
	c := startCredd(t, "default_profile: web\nprofiles:\n  web: {aws_profile: web}\n", awsConfig)

	t.Run("go sdk reads the role credentials from the container endpoint", func(t *testing.T) {
		_, got := goSDKFromContainer(t, c.URL+"/v1/credentials/web", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", c.TokenPath)
		if got.AccessKeyID != wantKey || got.SecretAccessKey != "fake-secret" || got.SessionToken != "fake-token" {
			t.Errorf("got key %q secret %q token %q, want the fake STS's %q fake-secret fake-token", got.AccessKeyID, got.SecretAccessKey, got.SessionToken, wantKey)
		}
		if left := time.Until(got.Expires); !got.CanExpire || left < 50*time.Minute || left > time.Hour+time.Minute {
			t.Errorf("expires in %v (can expire %v), want about the fake's 1h", left, got.CanExpire)
		}
		// The SDK derives the account from AssumedRoleUser's ARN; credd
		// passes it on.
		if got.AccountID != accountID {
			t.Errorf("account = %q, want %q", got.AccountID, accountID)
		}
	})

	t.Run("container endpoint JSON", func(t *testing.T) {
		status, body, doc := getContainerCreds(t, c, "web")
		if status != http.StatusOK {
			t.Fatalf("status %d, body %s", status, body)
		}
		if doc.AccessKeyId != wantKey || doc.SecretAccessKey != "fake-secret" || doc.Token != "fake-token" || doc.AccountId != accountID {
			t.Errorf("document %s, want the fake STS's credentials for account %s", body, accountID)
		}
		if _, err := time.Parse(time.RFC3339, doc.Expiration); err != nil {
			t.Errorf("Expiration %q: %v", doc.Expiration, err)
		}
		if strings.Contains(body, token) {
			t.Errorf("the web identity token is in the credentials document: %s", body)
		}
	})

	t.Run("the fake STS saw one unsigned AssumeRoleWithWebIdentity with the file's token", func(t *testing.T) {
		reqs, auth := fake.Requests(), fake.Auth()
		if len(reqs) != 1 {
			var actions []string
			for _, r := range reqs {
				actions = append(actions, r.Get("Action"))
			}
			t.Fatalf("STS calls %v, want exactly one AssumeRoleWithWebIdentity (credd serves both clients from its cache, and temporary credentials need no GetSessionToken)", actions)
		}
		for key, want := range map[string]string{
			"Action":           "AssumeRoleWithWebIdentity",
			"WebIdentityToken": token,
			"RoleArn":          roleARN,
			"RoleSessionName":  "e2e-web",
		} {
			if got := reqs[0].Get(key); got != want {
				t.Errorf("%s = %q, want %q", key, got, want)
			}
		}
		if auth[0] != "" {
			t.Errorf("AssumeRoleWithWebIdentity was signed (Authorization: %q); the token is the only identity it carries", auth[0])
		}
	})

	// The fake's answer, parsed by the SDK's own sts client: every field,
	// not only the credentials the provider keeps.
	t.Run("the sdk's sts client parses the fake's AssumeRoleWithWebIdentity", func(t *testing.T) {
		own := ststest.New(t)
		client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(own.URL), Credentials: aws.AnonymousCredentials{}})
		out, err := client.AssumeRoleWithWebIdentity(t.Context(), &sts.AssumeRoleWithWebIdentityInput{
			RoleArn:          aws.String(roleARN),
			RoleSessionName:  aws.String("parse-check"),
			WebIdentityToken: aws.String(token),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.Credentials == nil || aws.ToString(out.Credentials.AccessKeyId) != wantKey || out.Credentials.Expiration == nil {
			t.Fatalf("credentials %+v", out.Credentials)
		}
		for name, got := range map[string][2]string{
			"SubjectFromWebIdentityToken": {aws.ToString(out.SubjectFromWebIdentityToken), "system:serviceaccount:ci:deployer"},
			"Audience":                    {aws.ToString(out.Audience), "sts.amazonaws.com"},
			"Provider":                    {aws.ToString(out.Provider), "https://issuer.example.com"},
		} {
			if got[0] != got[1] {
				t.Errorf("%s = %q, want %q", name, got[0], got[1])
			}
		}
		if out.AssumedRoleUser == nil || aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::111122223333:assumed-role/ci-deployer/parse-check" {
			t.Errorf("AssumedRoleUser = %+v", out.AssumedRoleUser)
		}
	})
}

// ssoCache is the AWS CLI's cached SSO token, as `aws sso login` leaves it
// in ~/.aws/sso/cache/<sha1 of the session name>.json.
type ssoCache struct {
	StartURL              string `json:"startUrl"`
	Region                string `json:"region"`
	AccessToken           string `json:"accessToken"`
	ExpiresAt             string `json:"expiresAt"`
	ClientID              string `json:"clientId,omitempty"`
	ClientSecret          string `json:"clientSecret,omitempty"`
	RegistrationExpiresAt string `json:"registrationExpiresAt,omitempty"`
	RefreshToken          string `json:"refreshToken,omitempty"`
}

func ssoCachePath(home, session string) string {
	sum := sha1.Sum([]byte(session))
	return filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
}

func writeSSOCache(t *testing.T, home, session string, c ssoCache) {
	t.Helper()
	path := ssoCachePath(home, session)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	// Replaced at once, never seen half-written: credd's SDK reads the
	// cache on every fetch, and a torn read would be a failure of its own.
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readSSOCache(t *testing.T, home, session string) ssoCache {
	t.Helper()
	b, err := os.ReadFile(ssoCachePath(home, session))
	if err != nil {
		t.Fatal(err)
	}
	var c ssoCache
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("cache of %s: %v", session, err)
	}
	return c
}

// TestAWSProfileSSOSession: a profile with sso_session, resolved by the SDK
// from the token `aws sso login` cached, through the portal's
// GetRoleCredentials; and the errors when that session has run out.
//
// The SDK finds the cache under the user's home directory
// (ssocreds.StandardCachedTokenFilepath: shareddefaults.UserHomeDir, which
// is os.UserHomeDir, i.e. $HOME on Unix and %USERPROFILE% on Windows); the
// path is computed when credd first loads the profile, and the file is read
// on every fetch. So the test sets HOME (and USERPROFILE) and cannot run in
// parallel.
func TestAWSProfileSSOSession(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	cleanAWSEnv(t)
	// Whole seconds and an odd lifetime, so that a wrong unit (seconds for
	// milliseconds) or a default expiry shows.
	roleExpires := time.Now().Add(time.Hour + 7*time.Minute + 13*time.Second).UTC().Truncate(time.Second)
	fake := ssotest.New(t, ssotest.Options{RoleExpires: roleExpires, AccessTTL: 8 * time.Hour})

	const startURL = "https://corp.awsapps.com/start"
	now := time.Now().UTC()
	future := now.Add(8 * time.Hour).Format(time.RFC3339)
	past := now.Add(-time.Hour).Format(time.RFC3339)
	session := func(accessToken, expiresAt, refreshToken string) ssoCache {
		c := ssoCache{
			StartURL:              startURL,
			Region:                "us-east-1",
			AccessToken:           accessToken,
			ExpiresAt:             expiresAt,
			ClientID:              "client-id-e2e",
			ClientSecret:          "client-secret-e2e-DO-NOT-LEAK",
			RegistrationExpiresAt: now.Add(90 * 24 * time.Hour).Format(time.RFC3339),
			RefreshToken:          refreshToken,
		}
		if refreshToken == "" { // as `aws sso login` leaves it without registration scopes
			c.ClientID, c.ClientSecret, c.RegistrationExpiresAt = "", "", ""
		}
		return c
	}
	// Sessions, one per profile: each tells the SDK a different story.
	// The client `aws sso login` registered, as its cache names it.
	fake.AddClient("client-id-e2e", "client-secret-e2e-DO-NOT-LEAK", now.Add(90*24*time.Hour))
	writeSSOCache(t, home, "corp", session("corp-access-token", future, "corp-refresh-token"))
	fake.Accept("corp-access-token")
	writeSSOCache(t, home, "renew", session("renew-old-access-token", past, "renew-refresh-token"))
	fake.Redeemable("renew-refresh-token", "client-id-e2e")
	writeSSOCache(t, home, "stale", session("stale-access-token", past, ""))
	writeSSOCache(t, home, "revoked", session("revoked-access-token", past, "revoked-refresh-token"))
	writeSSOCache(t, home, "rejected", session("rejected-access-token", future, "rejected-refresh-token"))

	var awsConfig strings.Builder
	profiles := []struct{ name, session, account, role string }{
		{"dev", "corp", "111122223333", "Developer"},
		{"renewed", "renew", "444455556666", "Ops"},
		{"stale", "stale", "111122223333", "Developer"},
		{"revoked", "revoked", "111122223333", "Developer"},
		{"rejected", "rejected", "111122223333", "Developer"},
	}
	cfgYAML := "default_profile: dev\nprofiles:\n"
	for _, p := range profiles {
		fmt.Fprintf(&awsConfig, `[profile %s]
sso_session = %s
sso_account_id = %s
sso_role_name = %s
region = us-east-1
services = fakes

[sso-session %s]
sso_start_url = %s
sso_region = us-east-1
sso_registration_scopes = sso:account:access

`, p.name, p.session, p.account, p.role, p.session, startURL)
		cfgYAML += fmt.Sprintf("  %s: {aws_profile: %s}\n", p.name, p.name)
	}
	// sso is the portal client (GetRoleCredentials), sso_oidc the token
	// refresher (CreateToken): the SDK builds both from the loaded config,
	// so both honour the services section.
	fmt.Fprintf(&awsConfig, `[services fakes]
sso =
  endpoint_url = %s
sso_oidc =
  endpoint_url = %s
`, fake.URL, fake.URL)
	c := startCredd(t, cfgYAML, awsConfig.String())

	for _, tc := range []struct {
		profile, account, role string
		wantBearer             string
	}{
		{"dev", "111122223333", "Developer", "corp-access-token"},
		// Expired access token, valid refresh token: the SDK redeems it at
		// the OIDC endpoint, rewrites the cache and uses the new token.
		{"renewed", "444455556666", "Ops", ssotest.PrefixAccess},
	} {
		t.Run(tc.profile+": role credentials from the portal", func(t *testing.T) {
			wantKey, wantSecret, wantToken := ssotest.RoleCredentials(tc.account, tc.role)
			status, body, doc := getContainerCreds(t, c, tc.profile)
			if status != http.StatusOK {
				t.Fatalf("status %d, body %s", status, body)
			}
			if doc.AccessKeyId != wantKey || doc.SecretAccessKey != wantSecret || doc.Token != wantToken {
				t.Errorf("document %s, want the portal's %s/%s/%s", body, wantKey, wantSecret, wantToken)
			}
			if doc.AccountId != tc.account {
				t.Errorf("AccountId = %q, want %q", doc.AccountId, tc.account)
			}
			// The portal's expiration is epoch milliseconds.
			if want := roleExpires.Format("2006-01-02T15:04:05Z"); doc.Expiration != want {
				t.Errorf("Expiration = %q, want the portal's %d ms = %s", doc.Expiration, roleExpires.UnixMilli(), want)
			}

			// The same through the Go SDK's container provider.
			got, err := endpointcreds.New(c.URL+"/v1/credentials/"+tc.profile, func(o *endpointcreds.Options) {
				o.AuthorizationToken = c.Token
			}).Retrieve(t.Context())
			if err != nil {
				t.Fatalf("endpointcreds: %v", err)
			}
			if got.AccessKeyID != wantKey || got.SecretAccessKey != wantSecret || got.SessionToken != wantToken ||
				!got.CanExpire || !got.Expires.Equal(roleExpires) || got.AccountID != tc.account {
				t.Errorf("go sdk got %q %q %q expiring %v (%v) account %q, want %s %s %s expiring %v account %s",
					got.AccessKeyID, got.SecretAccessKey, got.SessionToken, got.Expires, got.CanExpire, got.AccountID,
					wantKey, wantSecret, wantToken, roleExpires, tc.account)
			}

			var calls []ssotest.PortalCall
			for _, call := range fake.PortalCalls() {
				if call.AccountID == tc.account && call.RoleName == tc.role {
					calls = append(calls, call)
				}
			}
			if len(calls) != 1 {
				t.Fatalf("portal calls for %s/%s: %+v, want exactly one (credd serves from its cache)", tc.account, tc.role, calls)
			}
			if !strings.HasPrefix(calls[0].Bearer, tc.wantBearer) {
				t.Errorf("portal saw bearer %q, want %q", calls[0].Bearer, tc.wantBearer)
			}
		})
	}

	t.Run("renewed: the sdk refreshed the cached token and wrote it back", func(t *testing.T) {
		// The fake redeems the refresh token only for the cached client and
		// its secret.
		if n := fake.Calls("CreateToken/refresh_token"); n != 1 {
			t.Errorf("%d refresh_token grants, want one with the cached client", n)
		}
		cache := readSSOCache(t, home, "renew")
		exp, err := time.Parse(time.RFC3339, cache.ExpiresAt)
		if !strings.HasPrefix(cache.AccessToken, ssotest.PrefixAccess) || !strings.HasPrefix(cache.RefreshToken, ssotest.PrefixRefresh) || err != nil || !exp.After(time.Now().Add(7*time.Hour)) {
			t.Errorf("cache after refresh: %+v (expiresAt: %v), want the new access and refresh tokens, 8h ahead", cache, err)
		}
	})

	// When the session cannot give credentials, credd answers 503 with the
	// SDK's reason, and never any of the session's secrets.
	secrets := []string{"access-token", "refresh-token", "client-secret-e2e", ssotest.PrefixAccess, ssotest.PrefixRefresh}
	for _, tc := range []struct {
		name, profile string
		wantInMessage []string
	}{
		{"expired token, no refresh token", "stale", []string{"SSO token is expired", "cannot be refreshed"}},
		{"expired token, refresh refused", "revoked", []string{"refresh cached SSO token failed", "CreateToken", "InvalidGrantException"}},
		{"unexpired token the portal refuses", "rejected", []string{"GetRoleCredentials", "UnauthorizedException"}},
	} {
		t.Run(tc.profile+": "+tc.name+": 503", func(t *testing.T) {
			status, body, doc := getContainerCreds(t, c, tc.profile)
			if status != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503; body %s", status, body)
			}
			t.Logf("credd says: %s: %s", doc.Code, doc.Message)
			nextStep := "run `aws sso login --profile " + tc.profile + "`"
			for _, want := range append([]string{"profile " + tc.profile, nextStep}, tc.wantInMessage...) {
				if !strings.Contains(doc.Message, want) {
					t.Errorf("message %q does not mention %q", doc.Message, want)
				}
			}
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("the error response contains a secret of the session (%q): %s", s, body)
				}
			}
			for _, st := range c.D.Status() {
				if st.Profile == tc.profile && st.State != "login-required" {
					t.Errorf("state = %s, want login-required", st.State)
				}
			}
			// The Go SDK surfaces the same explanation.
			_, err := endpointcreds.New(c.URL+"/v1/credentials/"+tc.profile, func(o *endpointcreds.Options) {
				o.AuthorizationToken = c.Token
				o.Retryer = aws.NopRetryer{}
			}).Retrieve(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.wantInMessage[0]) {
				t.Errorf("endpointcreds error = %v, want it to mention %q", err, tc.wantInMessage[0])
			}
		})
	}

	// `aws sso login` writes a fresh token; the SDK reads the cache on every
	// fetch, so credd serves again at its next attempt, when its backoff
	// (2s, doubling with each failure since the first 503) lets it retry:
	// no restart, no reload.
	t.Run("stale: after aws sso login writes a fresh token, credd serves again", func(t *testing.T) {
		stale := func() refresh.Status {
			t.Helper()
			for _, st := range c.D.Status() {
				if st.Profile == "stale" {
					return st.Status
				}
			}
			t.Fatal("no profile stale in the status")
			return refresh.Status{}
		}
		fake.Accept("stale-new-access-token")
		writeSSOCache(t, home, "stale", session("stale-new-access-token", future, "stale-refresh-token"))
		written, failures := time.Now(), stale().Failures
		wantKey, _, _ := ssotest.RoleCredentials("111122223333", "Developer")
		for {
			status, body, doc := getContainerCreds(t, c, "stale")
			if status == http.StatusOK {
				if doc.AccessKeyId != wantKey {
					t.Errorf("document %s, want key %s", body, wantKey)
				}
				break
			}
			// How long the backoff is depends on how many retries failed
			// before the token was written (the subtests above take their
			// time on a loaded machine): the bound is the next attempt.
			// One more failure may be of a retry that read the old token.
			st := stale()
			if st.Failures > failures+1 {
				t.Fatalf("%d more failures after the fresh token was written: %v", st.Failures-failures, st.LastError)
			}
			next := written
			if st.NextAttempt.After(next) {
				next = st.NextAttempt
			}
			if time.Since(next) > 20*time.Second {
				t.Fatalf("still %d 20s after the attempt due at %s: %s", status, next.Format(time.RFC3339), body)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// Other profiles (rejected) keep retrying meanwhile: look at stale's.
		var last ssotest.PortalCall
		for _, c := range fake.PortalCalls() {
			if strings.HasPrefix(c.Bearer, "stale-") {
				last = c
			}
		}
		if last.Bearer != "stale-new-access-token" {
			t.Errorf("last portal call of stale %+v, want the new token", last)
		}
	})
}
