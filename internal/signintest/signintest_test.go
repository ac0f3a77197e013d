package signintest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"
	"github.com/aws/aws-sdk-go-v2/service/signin"
	signintypes "github.com/aws/aws-sdk-go-v2/service/signin/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credd/credd/internal/signintest"
)

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func client(f *signintest.Server) *signin.Client {
	return signin.New(signin.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.URL), Retryer: aws.NopRetryer{}})
}

// proofKey signs DPoP proofs by hand, so a test can break any part.
type proofKey struct{ priv *ecdsa.PrivateKey }

func newProofKey(t *testing.T) proofKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return proofKey{k}
}

func (k proofKey) jwk() map[string]string {
	b, _ := k.priv.PublicKey.Bytes() // 0x04 || x || y
	return map[string]string{"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(b[1:33]), "y": base64.RawURLEncoding.EncodeToString(b[33:])}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign makes a compact JWS of header and claims with k (raw r||s).
func (k proofKey) sign(header, claims map[string]any) string {
	in := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// proof is a valid proof for POST url now, which mutate may break.
func (k proofKey) proof(url string, mutate func(h, c map[string]any)) string {
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk()}
	c := map[string]any{"jti": rand.Text(), "htm": "POST", "htu": url, "iat": time.Now().Unix()}
	if mutate != nil {
		mutate(h, c)
	}
	return k.sign(h, c)
}

// withProof sets the DPoP header of a signin call; the proof is made for
// the resolved URL the request goes to.
func withProof(make func(url string) string) func(*signin.Options) {
	return signin.WithAPIOptions(func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("testDPoP", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req := in.Request.(*smithyhttp.Request)
			if p := make(req.URL.String()); p != "" {
				req.Header.Set("DPoP", p)
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
	})
}

func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 22) + rand.Text()[:22] + strings.Repeat("-._~", 5)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize follows /v1/authorize and returns where the fake redirected.
func authorize(t *testing.T, f *signintest.Server, clientID, redirect, state, challenge string) *url.URL {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "state": {state}, "code_challenge_method": {"SHA-256"},
		"scope": {"openid"}, "redirect_uri": {redirect}, "code_challenge": {challenge}}
	resp, err := noFollow.Get(f.URL + "/v1/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func codeInput(clientID, code, verifier, redirect string) *signin.CreateOAuth2TokenInput {
	return &signin.CreateOAuth2TokenInput{TokenInput: &signintypes.CreateOAuth2TokenRequestBody{
		ClientId: aws.String(clientID), GrantType: aws.String("authorization_code"), Code: aws.String(code),
		CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect)}}
}

func refreshInput(refresh string) *signin.CreateOAuth2TokenInput {
	return &signin.CreateOAuth2TokenInput{TokenInput: &signintypes.CreateOAuth2TokenRequestBody{
		ClientId: aws.String(signintest.ClientSameDevice), GrantType: aws.String("refresh_token"), RefreshToken: aws.String(refresh)}}
}

// signIn runs the same-device flow with key and returns the answer.
func signIn(t *testing.T, f *signintest.Server, key proofKey) *signintypes.CreateOAuth2TokenResponseBody {
	t.Helper()
	verifier, challenge := pkce()
	redirect := "http://127.0.0.1:4567/oauth/callback"
	loc := authorize(t, f, signintest.ClientSameDevice, redirect, "st-1", challenge)
	if loc.Host != "127.0.0.1:4567" || loc.Path != "/oauth/callback" || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize redirected to %s", loc)
	}
	out, err := client(f).CreateOAuth2Token(t.Context(), codeInput(signintest.ClientSameDevice, loc.Query().Get("code"), verifier, redirect),
		withProof(func(u string) string { return key.proof(u, nil) }))
	if err != nil {
		t.Fatal(err)
	}
	return out.TokenOutput
}

func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSDKCodeAndRefresh: the SDK's signin client exchanges a code and
// renews with the refresh token; the refresh token rotates.
func TestSDKCodeAndRefresh(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	key := newProofKey(t)
	out := signIn(t, f, key)
	if aws.ToString(out.TokenType) != "aws_sigv4" || aws.ToInt32(out.ExpiresIn) != 900 || aws.ToString(out.RefreshToken) == "" ||
		!strings.HasPrefix(aws.ToString(out.AccessToken.SecretAccessKey), signintest.PrefixSecret) {
		t.Fatalf("token answer = %+v %+v", out, out.AccessToken)
	}
	if c := claims(t, aws.ToString(out.IdToken)); c["sub"] != signintest.DefaultSession || c["aud"] != signintest.ClientSameDevice {
		t.Errorf("ID token claims = %v", c)
	}
	first := aws.ToString(out.RefreshToken)
	r, err := client(f).CreateOAuth2Token(t.Context(), refreshInput(first), withProof(func(u string) string { return key.proof(u, nil) }))
	if err != nil {
		t.Fatal(err)
	}
	if r.TokenOutput.IdToken != nil || aws.ToString(r.TokenOutput.RefreshToken) == first ||
		aws.ToString(r.TokenOutput.AccessToken.AccessKeyId) == aws.ToString(out.AccessToken.AccessKeyId) {
		t.Errorf("refresh answer = %+v", r.TokenOutput)
	}
	// The used refresh token is refused now.
	_, err = client(f).CreateOAuth2Token(t.Context(), refreshInput(first), withProof(func(u string) string { return key.proof(u, nil) }))
	var ve *signintypes.ValidationException
	if !errors.As(err, &ve) || ve.Error_ != signintypes.OAuth2ErrorCodeInvalidRequest {
		t.Errorf("reused refresh token: err = %v, want ValidationException INVALID_REQUEST", err)
	}
}

// TestProofs: every part of the DPoP proof is checked; a proof that
// breaks one is refused, and the refusal says which.
func TestProofs(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	key := newProofKey(t)
	other := newProofKey(t)
	replayed := ""
	cases := []struct {
		name  string
		proof func(u string) string
		want  string
	}{
		{"no proof", func(string) string { return "" }, "want exactly one DPoP header"},
		{"not a JWS", func(string) string { return "a.b" }, "not a compact JWS"},
		{"wrong typ", func(u string) string { return key.proof(u, func(h, _ map[string]any) { h["typ"] = "JWT" }) }, "typ"},
		{"alg none", func(u string) string { return key.proof(u, func(h, _ map[string]any) { h["alg"] = "none" }) }, "alg"},
		{"private key in the jwk", func(u string) string {
			return key.proof(u, func(h, _ map[string]any) {
				j := key.jwk()
				d, _ := key.priv.Bytes()
				j["d"] = base64.RawURLEncoding.EncodeToString(d)
				h["jwk"] = j
			})
		}, "private key"},
		{"point not on the curve", func(u string) string {
			return key.proof(u, func(h, _ map[string]any) {
				j := key.jwk()
				j["y"] = j["x"]
				h["jwk"] = j
			})
		}, "jwk"},
		{"signed by another key", func(u string) string {
			return key.proof(u, func(h, _ map[string]any) { h["jwk"] = other.jwk() })
		}, "bad signature"},
		{"wrong htm", func(u string) string { return key.proof(u, func(_, c map[string]any) { c["htm"] = "GET" }) }, "htm"},
		{"wrong htu path", func(u string) string {
			return key.proof(u, func(_, c map[string]any) { c["htu"] = strings.Replace(u, "/v1/token", "/v1/authorize", 1) })
		}, "htu"},
		{"wrong htu host", func(u string) string {
			return key.proof(u, func(_, c map[string]any) { c["htu"] = "https://eu-west-1.signin.aws.amazon.com/v1/token" })
		}, "htu"},
		{"stale iat", func(u string) string {
			return key.proof(u, func(_, c map[string]any) { c["iat"] = time.Now().Add(-5 * time.Minute).Unix() })
		}, "iat"},
		{"future iat", func(u string) string {
			return key.proof(u, func(_, c map[string]any) { c["iat"] = time.Now().Add(5 * time.Minute).Unix() })
		}, "iat"},
		{"no iat", func(u string) string { return key.proof(u, func(_, c map[string]any) { delete(c, "iat") }) }, "no iat"},
		{"no jti", func(u string) string { return key.proof(u, func(_, c map[string]any) { delete(c, "jti") }) }, "jti"},
		{"replayed jti", func(u string) string {
			if replayed == "" {
				replayed = key.proof(u, nil)
				// Spend it on a request that is otherwise refused (unknown code).
				f.ServeHTTP(httptest.NewRecorder(), mustRequest(u, replayed))
			}
			return replayed
		}, "jti used before"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			verifier, challenge := pkce()
			redirect := "http://127.0.0.1:4567/oauth/callback"
			code := authorize(t, f, signintest.ClientSameDevice, redirect, "s", challenge).Query().Get("code")
			_, err := client(f).CreateOAuth2Token(t.Context(), codeInput(signintest.ClientSameDevice, code, verifier, redirect), withProof(tc.proof))
			var ve *signintypes.ValidationException
			if !errors.As(err, &ve) || !strings.Contains(aws.ToString(ve.Message), tc.want) {
				t.Fatalf("err = %v, want ValidationException naming %q", err, tc.want)
			}
			// The code was not spent by the refused request: with a good
			// proof it still works.
			if _, err := client(f).CreateOAuth2Token(t.Context(), codeInput(signintest.ClientSameDevice, code, verifier, redirect),
				withProof(func(u string) string { return key.proof(u, nil) })); err != nil {
				t.Errorf("with a valid proof: %v", err)
			}
		})
	}
}

func mustRequest(u, proof string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"clientId":"`+signintest.ClientSameDevice+`","grantType":"authorization_code","code":"nope"}`))
	if err != nil {
		panic(err)
	}
	r.Header.Set("DPoP", proof)
	return r
}

// TestBoundKey: only the key a refresh token was issued to renews it.
func TestBoundKey(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	key := newProofKey(t)
	rt := aws.ToString(signIn(t, f, key).RefreshToken)
	thief := newProofKey(t)
	_, err := client(f).CreateOAuth2Token(t.Context(), refreshInput(rt), withProof(func(u string) string { return thief.proof(u, nil) }))
	var ve *signintypes.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(aws.ToString(ve.Message), "bound to") {
		t.Fatalf("refresh with another key: err = %v", err)
	}
	if _, err := client(f).CreateOAuth2Token(t.Context(), refreshInput(rt), withProof(func(u string) string { return key.proof(u, nil) })); err != nil {
		t.Errorf("refresh with the bound key after a refused theft: %v", err)
	}
}

// TestPKCEAndCodes: the verifier, the redirect and the code's single use
// and lifetime are checked.
func TestPKCEAndCodes(t *testing.T) {
	now := time.Now()
	f := signintest.New(t, signintest.Options{Now: func() time.Time { return now }})
	key := newProofKey(t)
	good := func(u string) string { return key.proof(u, func(_, c map[string]any) { c["iat"] = now.Unix() }) }
	redirect := "http://127.0.0.1:4567/oauth/callback"
	for _, tc := range []struct {
		name     string
		mutate   func(in *signintypes.CreateOAuth2TokenRequestBody)
		wantCode signintypes.OAuth2ErrorCode
		wantType any
	}{
		{"wrong verifier", func(in *signintypes.CreateOAuth2TokenRequestBody) {
			in.CodeVerifier = aws.String(strings.Repeat("w", 64))
		},
			signintypes.OAuth2ErrorCodeInvalidRequest, &signintypes.ValidationException{}},
		{"other redirect", func(in *signintypes.CreateOAuth2TokenRequestBody) {
			in.RedirectUri = aws.String("http://127.0.0.1:9999/oauth/callback")
		}, signintypes.OAuth2ErrorCodeInvalidRequest, &signintypes.ValidationException{}},
		{"other client", func(in *signintypes.CreateOAuth2TokenRequestBody) {
			in.ClientId = aws.String(signintest.ClientCrossDevice)
		},
			signintypes.OAuth2ErrorCodeInvalidRequest, &signintypes.ValidationException{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifier, challenge := pkce()
			code := authorize(t, f, signintest.ClientSameDevice, redirect, "s", challenge).Query().Get("code")
			in := codeInput(signintest.ClientSameDevice, code, verifier, redirect)
			tc.mutate(in.TokenInput)
			_, err := client(f).CreateOAuth2Token(t.Context(), in, withProof(good))
			var ve *signintypes.ValidationException
			if !errors.As(err, &ve) || ve.Error_ != tc.wantCode {
				t.Fatalf("err = %v, want ValidationException %s", err, tc.wantCode)
			}
		})
	}
	t.Run("code used twice", func(t *testing.T) {
		verifier, challenge := pkce()
		code := authorize(t, f, signintest.ClientSameDevice, redirect, "s", challenge).Query().Get("code")
		in := codeInput(signintest.ClientSameDevice, code, verifier, redirect)
		if _, err := client(f).CreateOAuth2Token(t.Context(), in, withProof(good)); err != nil {
			t.Fatal(err)
		}
		_, err := client(f).CreateOAuth2Token(t.Context(), in, withProof(good))
		var ve *signintypes.ValidationException
		if !errors.As(err, &ve) {
			t.Fatalf("second use: err = %v", err)
		}
	})
	t.Run("code expired", func(t *testing.T) {
		verifier, challenge := pkce()
		code := authorize(t, f, signintest.ClientSameDevice, redirect, "s", challenge).Query().Get("code")
		now = now.Add(6 * time.Minute)
		_, err := client(f).CreateOAuth2Token(t.Context(), codeInput(signintest.ClientSameDevice, code, verifier, redirect), withProof(good))
		var ad *signintypes.AccessDeniedException
		if !errors.As(err, &ad) || ad.Error_ != signintypes.OAuth2ErrorCodeAuthcodeExpired {
			t.Fatalf("err = %v, want AccessDeniedException AUTHCODE_EXPIRED", err)
		}
	})
	t.Run("authorize refuses", func(t *testing.T) {
		for name, q := range map[string]url.Values{
			"plain challenge method": {"code_challenge_method": {"plain"}},
			"no state":               {"state": {""}},
			"other scope":            {"scope": {"profile"}},
		} {
			_, challenge := pkce()
			v := url.Values{"response_type": {"code"}, "client_id": {signintest.ClientSameDevice}, "state": {"s"}, "code_challenge_method": {"SHA-256"},
				"scope": {"openid"}, "redirect_uri": {redirect}, "code_challenge": {challenge}}
			for k, vv := range q {
				v[k] = vv
			}
			resp, err := noFollow.Get(f.URL + "/v1/authorize?" + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Query().Get("error") == "" || loc.Query().Get("code") != "" {
				t.Errorf("%s: redirected to %s, want an error and no code", name, loc)
			}
		}
		for name, q := range map[string]url.Values{
			"remote redirect for same-device": {"redirect_uri": {"https://evil.example/oauth/callback"}},
			"unknown client":                  {"client_id": {"arn:aws:signin:::devtools/other"}},
		} {
			v := url.Values{"response_type": {"code"}, "client_id": {signintest.ClientSameDevice}, "state": {"s"},
				"code_challenge_method": {"SHA-256"}, "scope": {"openid"}, "redirect_uri": {redirect}, "code_challenge": {"x"}}
			for k, vv := range q {
				v[k] = vv
			}
			resp, err := noFollow.Get(f.URL + "/v1/authorize?" + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %s, want 400 (no redirect)", name, resp.Status)
			}
		}
	})
}

// TestSessionEnd: refresh tokens stop working when the session ends, or
// the password changes, with the AccessDeniedException codes the SDKs
// map to "sign in again".
func TestSessionEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(f *signintest.Server, now *time.Time)
		want signintypes.OAuth2ErrorCode
	}{
		{"ended", func(f *signintest.Server, _ *time.Time) { f.EndSession() }, signintypes.OAuth2ErrorCodeTokenExpired},
		{"12 hours passed", func(_ *signintest.Server, now *time.Time) { *now = now.Add(12*time.Hour + time.Second) }, signintypes.OAuth2ErrorCodeTokenExpired},
		{"password changed", func(f *signintest.Server, _ *time.Time) { f.ChangePassword() }, signintypes.OAuth2ErrorCodeUserCredentialsChanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			f := signintest.New(t, signintest.Options{Now: func() time.Time { return now }})
			key := newProofKey(t)
			rt := aws.ToString(signIn(t, f, key).RefreshToken)
			tc.end(f, &now)
			_, err := client(f).CreateOAuth2Token(t.Context(), refreshInput(rt),
				withProof(func(u string) string { return key.proof(u, func(_, c map[string]any) { c["iat"] = now.Unix() }) }))
			var ad *signintypes.AccessDeniedException
			if !errors.As(err, &ad) || ad.Error_ != tc.want {
				t.Fatalf("err = %v, want AccessDeniedException %s", err, tc.want)
			}
		})
	}
}

// TestCrossDevice: the cross-device client is sent to the confirmation
// page, which shows the code to paste: base64 of state and code.
func TestCrossDevice(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	key := newProofKey(t)
	verifier, challenge := pkce()
	redirect := f.URL + "/v1/sessions/confirmation"
	loc := authorize(t, f, signintest.ClientCrossDevice, redirect, "st-remote", challenge)
	resp, err := http.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pasted, ok := signintest.PageCode(string(page))
	if !ok {
		t.Fatalf("no code on the page: %s", page)
	}
	raw, err := base64.StdEncoding.DecodeString(pasted)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery(string(raw))
	if q.Get("state") != "st-remote" || q.Get("code") == "" {
		t.Fatalf("pasted code decodes to %q", raw)
	}
	if _, err := client(f).CreateOAuth2Token(t.Context(), codeInput(signintest.ClientCrossDevice, q.Get("code"), verifier, redirect),
		withProof(func(u string) string { return key.proof(u, nil) })); err != nil {
		t.Fatal(err)
	}
}

func pemSEC1(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// cacheFile writes a login cache file as `aws login` does, for a session
// signed in with key, whose credentials expired.
func cacheFile(t *testing.T, dir string, f *signintest.Server, key proofKey) string {
	t.Helper()
	out := signIn(t, f, key)
	path, err := logincreds.StandardCachedTokenFilepath(f.Session(), dir)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"accessToken": map[string]string{"accessKeyId": aws.ToString(out.AccessToken.AccessKeyId), "secretAccessKey": aws.ToString(out.AccessToken.SecretAccessKey),
			"sessionToken": aws.ToString(out.AccessToken.SessionToken), "accountId": f.Account(), "expiresAt": time.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04:05Z")},
		"tokenType": "aws_sigv4", "clientId": signintest.ClientSameDevice, "refreshToken": aws.ToString(out.RefreshToken),
		"idToken": aws.ToString(out.IdToken), "dpopKey": pemSEC1(t, key.priv),
	})
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLogincreds: aws-sdk-go-v2's own login provider renews an expired
// session against the fake, with its own DPoP proofs, twice in a row (the
// refresh token rotates), and its config loader finds a login_session
// profile's cache and endpoint the way every Go program would.
func TestLogincreds(t *testing.T) {
	f := signintest.New(t, signintest.Options{})
	dir := t.TempDir()
	path := cacheFile(t, dir, f, newProofKey(t))
	p := logincreds.New(client(f), path)
	var keys []string
	for range 2 {
		c, err := p.Retrieve(t.Context())
		if err != nil {
			t.Fatalf("%v (the fake refused: %q)", err, f.Refusals())
		}
		if c.AccountID != f.Account() || !c.Expires.After(time.Now().Add(14*time.Minute)) || c.AccessKeyID != f.LastCredentials().AccessKeyID {
			t.Fatalf("credentials = %+v", c)
		}
		keys = append(keys, c.AccessKeyID)
		// Expire them again, so the next Retrieve renews.
		b, _ := os.ReadFile(path)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["accessToken"].(map[string]any)["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		b, _ = json.Marshal(m)
		_ = os.WriteFile(path, b, 0o600)
	}
	if keys[0] == keys[1] || f.Calls("CreateOAuth2Token/refresh_token") != 2 {
		t.Errorf("keys %v after %d refreshes", keys, f.Calls("CreateOAuth2Token/refresh_token"))
	}

	t.Run("config", func(t *testing.T) {
		cfgFile := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(cfgFile, []byte("[profile console]\nlogin_session = "+f.Session()+"\nregion = eu-west-1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_LOGIN_CACHE_DIRECTORY", dir)
		t.Setenv("AWS_ENDPOINT_URL_SIGNIN", f.URL)
		cfg, err := config.LoadDefaultConfig(t.Context(), config.WithSharedConfigFiles([]string{cfgFile}),
			config.WithSharedCredentialsFiles([]string{filepath.Join(t.TempDir(), "none")}), config.WithSharedConfigProfile("console"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := cfg.Credentials.Retrieve(t.Context())
		if err != nil {
			t.Fatalf("%v (the fake refused: %q)", err, f.Refusals())
		}
		if c.AccessKeyID != f.LastCredentials().AccessKeyID || f.Calls("CreateOAuth2Token/refresh_token") != 3 {
			t.Errorf("credentials %s after %d refreshes", c.AccessKeyID, f.Calls("CreateOAuth2Token/refresh_token"))
		}
	})
}
