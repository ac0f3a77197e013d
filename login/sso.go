package login

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/cred"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/private"
)

// Grant types of SSO OIDC.
const (
	grantAuthCode   = "authorization_code"
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefresh    = "refresh_token"
)

// Keys of Tokens.Extra for an Identity Center session: the client
// registration that issued the tokens (the AWS CLI cache's names).
const (
	ExtraClientID              = "clientId"
	ExtraClientSecret          = "clientSecret"
	ExtraRegistrationExpiresAt = "registrationExpiresAt"
	extraGrant                 = "grant" // the flow the client is registered for
)

// DefaultSSOScopes are registered when a session names none; with scopes
// registered, Identity Center issues refresh tokens.
var DefaultSSOScopes = []string{"sso:account:access"}

// loopbackRedirect is registered for browser sign-ins: Identity Center,
// like the AWS CLI, matches loopback redirects on any port (RFC 8252 §7.3),
// so one registration serves every flow's random port.
const loopbackRedirect = "http://127.0.0.1/oauth/callback"

// SSO signs in to AWS IAM Identity Center through SSO OIDC: a public
// client registered with RegisterClient (kept with the tokens and reused
// until it expires), then the authorization code grant with PKCE, or the
// device code grant, and the refresh token grant.
type SSO struct {
	StartURL   string
	Region     string
	Endpoint   string // overrides https://oidc.<region>.amazonaws.com (tests)
	Scopes     []string
	HTTPClient *http.Client
	Clock      clock.Clock
	// CacheFile, if set, is the AWS CLI's token cache for this session
	// (~/.aws/sso/cache/<sha1 of the session name>.json): a later session
	// in it is taken (Restore, Follow), and every sign-in and renewal the
	// session keeps is written to it (Kept).
	CacheFile string

	mu   sync.Mutex
	regs map[string]registration // by grant: authorization_code or device code
}

type registration struct {
	ClientID, ClientSecret string
	Expires                time.Time
	Grant                  string
}

func (r registration) extra() map[string]string {
	return map[string]string{
		ExtraClientID:              r.ClientID,
		ExtraClientSecret:          r.ClientSecret,
		ExtraRegistrationExpiresAt: r.Expires.UTC().Format(time.RFC3339),
		extraGrant:                 r.Grant,
	}
}

func registrationOf(extra map[string]string) (registration, bool) {
	r := registration{ClientID: extra[ExtraClientID], ClientSecret: extra[ExtraClientSecret], Grant: extra[extraGrant]}
	exp, err := time.Parse(time.RFC3339, extra[ExtraRegistrationExpiresAt])
	if r.ClientID == "" || r.ClientSecret == "" || err != nil {
		return registration{}, false
	}
	r.Expires = exp
	return r, true
}

func (s *SSO) Kind() string { return "sso" }

func (s *SSO) now() time.Time { return clock.Or(s.Clock).Now() }

// api is where the OIDC and portal APIs of the session's Identity Center
// are.
func (s *SSO) api() awsapi.Config {
	return awsapi.Config{Region: s.Region, Endpoint: s.Endpoint, HTTPClient: s.HTTPClient}
}

func (s *SSO) client() *ssooidc.Client { return ssooidc.NewFromConfig(s.api().AWS(nil)) }

func (s *SSO) scopes() []string {
	if len(s.Scopes) > 0 {
		return s.Scopes
	}
	return DefaultSSOScopes
}

// authorizeURL is the browser's sign-in page of the OIDC service.
func (s *SSO) authorizeURL() string {
	if s.Endpoint != "" {
		return strings.TrimRight(s.Endpoint, "/") + "/authorize"
	}
	return "https://oidc." + s.Region + ".amazonaws.com/authorize"
}

// Restore makes a stored session's client registration known, so the
// next sign-in reuses it rather than registering again. When the AWS CLI's
// cache holds a later session for the same start URL (`aws sso login` ran
// while credd was stopped), that one is taken.
func (s *SSO) Restore(ctx context.Context, sess *Session) {
	s.takeCache(ctx, sess)
	sess.mu.Lock()
	extra := sess.tokens.Extra
	sess.mu.Unlock()
	if r, ok := registrationOf(extra); ok {
		s.remember(r)
	}
}

// Follow takes the session in the AWS CLI's cache when it is a later one
// than the session held: `aws sso login` ran, or an SDK renewed the shared
// token. The daemon calls it when the cache file changes, so a sign-in made
// with the AWS CLI ends a login-required state at once. It reports whether
// the session changed.
func (s *SSO) Follow(ctx context.Context, sess *Session) bool {
	if !s.takeCache(ctx, sess) {
		return false
	}
	sess.changed()
	return true
}

// takeCache offers the cached session to sess.
func (s *SSO) takeCache(ctx context.Context, sess *Session) bool {
	if s.CacheFile == "" {
		return false
	}
	t, ok := s.readCache()
	if !ok || !sess.offer(ctx, t) {
		return false
	}
	if r, ok := registrationOf(t.Extra); ok {
		s.remember(r)
	}
	sess.log.Info("session taken from the AWS CLI cache", "session", sess.name, "expires", t.Expiry.UTC().Format(time.RFC3339))
	return true
}

func (s *SSO) remember(r registration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Grant == "" {
		return // from the AWS CLI's cache: good for renewals, not known for which flow
	}
	if s.regs == nil {
		s.regs = map[string]registration{}
	}
	s.regs[r.Grant] = r
}

// register returns a client registered for grant, reusing one that stays
// valid for at least another hour.
func (s *SSO) register(ctx context.Context, grant string) (registration, error) {
	s.mu.Lock()
	r, ok := s.regs[grant]
	s.mu.Unlock()
	if ok && r.Expires.After(s.now().Add(time.Hour)) {
		return r, nil
	}
	in := &ssooidc.RegisterClientInput{
		ClientName: aws.String("credd"),
		ClientType: aws.String("public"),
		Scopes:     s.scopes(),
		GrantTypes: []string{grant, grantRefresh},
	}
	if grant == grantAuthCode {
		in.RedirectUris = []string{loopbackRedirect}
		in.IssuerUrl = aws.String(s.StartURL)
	}
	out, err := s.client().RegisterClient(ctx, in)
	if err != nil {
		return registration{}, fmt.Errorf("registering credd with IAM Identity Center (%s): %w", s.Region, err)
	}
	r = registration{ClientID: aws.ToString(out.ClientId), ClientSecret: aws.ToString(out.ClientSecret),
		Expires: time.Unix(out.ClientSecretExpiresAt, 0), Grant: grant}
	if r.ClientID == "" || r.ClientSecret == "" {
		return registration{}, errors.New("IAM Identity Center registered no client (empty clientId or clientSecret)")
	}
	s.remember(r)
	return r, nil
}

// tokens makes Tokens of a CreateToken answer (keeping the old refresh
// token if none came) and shares them with the AWS CLI's cache.
func (s *SSO) tokens(out *ssooidc.CreateTokenOutput, r registration, oldRefresh string) (Tokens, error) {
	if aws.ToString(out.AccessToken) == "" {
		return Tokens{}, errors.New("IAM Identity Center returned no access token")
	}
	t := Tokens{
		AccessToken:  aws.ToString(out.AccessToken),
		RefreshToken: aws.ToString(out.RefreshToken),
		IDToken:      aws.ToString(out.IdToken),
		Expiry:       s.now().Add(time.Duration(out.ExpiresIn) * time.Second),
		Extra:        r.extra(),
	}
	if t.RefreshToken == "" {
		t.RefreshToken = oldRefresh
	}
	if t.RefreshToken != "" {
		// Identity Center never says when its session ends (the admin's
		// session duration, 8h by default, is not disclosed), but it
		// cannot outlast the client registration: renewing needs its
		// secret. That end is the one credd can warn of.
		t.RefreshExpiry = r.Expires
	}
	return t, nil
}

// Kept shares the session's tokens with the AWS CLI's cache: after every
// sign-in, renewal or adoption the session keeps, in order (login.keeper).
func (s *SSO) Kept(t Tokens) error {
	if s.CacheFile == "" {
		return nil
	}
	if err := s.writeCache(t); err != nil {
		// The session itself is fine; only the sharing failed.
		return fmt.Errorf("the AWS CLI's SSO cache %s was not updated: %w", s.CacheFile, err)
	}
	return nil
}

// pkce returns a verifier of 64 characters and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = randomString(48) // 48 bytes: 64 base64url characters
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *SSO) AuthCodeURL(ctx context.Context, redirect, state string) (string, func(context.Context, string) (Tokens, error), error) {
	r, err := s.register(ctx, grantAuthCode)
	if err != nil {
		return "", nil, err
	}
	verifier, challenge := pkce()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {r.ClientID},
		"redirect_uri":          {redirect},
		"state":                 {state},
		"code_challenge_method": {"S256"},
		"code_challenge":        {challenge},
		"scopes":                {strings.Join(s.scopes(), " ")},
	}
	return s.authorizeURL() + "?" + q.Encode(), func(ctx context.Context, code string) (Tokens, error) {
		out, err := s.client().CreateToken(ctx, &ssooidc.CreateTokenInput{
			ClientId: aws.String(r.ClientID), ClientSecret: aws.String(r.ClientSecret),
			GrantType: aws.String(grantAuthCode), Code: aws.String(code),
			CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect),
		})
		if err != nil {
			return Tokens{}, fmt.Errorf("exchanging the authorization code with IAM Identity Center: %w", err)
		}
		return s.tokens(out, r, "")
	}, nil
}

func (s *SSO) StartDevice(ctx context.Context) (DeviceStart, func(context.Context) (Tokens, error), error) {
	r, err := s.register(ctx, grantDeviceCode)
	if err != nil {
		return DeviceStart{}, nil, err
	}
	c := s.client()
	da, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: aws.String(r.ClientID), ClientSecret: aws.String(r.ClientSecret), StartUrl: aws.String(s.StartURL),
	})
	if err != nil {
		return DeviceStart{}, nil, fmt.Errorf("starting device sign-in with IAM Identity Center: %w", err)
	}
	interval := time.Duration(max(da.Interval, 1)) * time.Second
	ds := DeviceStart{
		UserCode: aws.ToString(da.UserCode), VerificationURI: aws.ToString(da.VerificationUri),
		VerificationURIComplete: aws.ToString(da.VerificationUriComplete),
		Expires:                 s.now().Add(time.Duration(da.ExpiresIn) * time.Second), Interval: interval,
	}
	return ds, func(ctx context.Context) (Tokens, error) {
		clk := clock.Or(s.Clock)
		for {
			out, err := c.CreateToken(ctx, &ssooidc.CreateTokenInput{
				ClientId: aws.String(r.ClientID), ClientSecret: aws.String(r.ClientSecret),
				GrantType: aws.String(grantDeviceCode), DeviceCode: da.DeviceCode,
			})
			switch code := awsapi.ErrorCode(err); {
			case err == nil:
				return s.tokens(out, r, "")
			case code == "AuthorizationPendingException":
			case code == "SlowDownException":
				interval += 5 * time.Second // RFC 8628 §3.5
			case code == "ExpiredTokenException":
				return Tokens{}, fmt.Errorf("the device sign-in was not approved in time (its code expired): %w", err)
			case code == "AccessDeniedException":
				return Tokens{}, fmt.Errorf("the device sign-in was denied: %w", err)
			default:
				if ctx.Err() != nil {
					return Tokens{}, ctx.Err()
				}
				return Tokens{}, fmt.Errorf("device sign-in with IAM Identity Center: %w", err)
			}
			t := clk.NewTimer(interval)
			select {
			case <-t.C():
			case <-ctx.Done():
				t.Stop()
				return Tokens{}, ctx.Err()
			}
		}
	}, nil
}

// refusals of a refresh token: only a new sign-in helps.
var refusals = map[string]bool{
	"InvalidGrantException":       true,
	"ExpiredTokenException":       true,
	"UnauthorizedClientException": true,
	"InvalidClientException":      true,
	"AccessDeniedException":       true,
}

func (s *SSO) Refresh(ctx context.Context, old Tokens) (Tokens, error) {
	r, ok := registrationOf(old.Extra)
	switch {
	case old.RefreshToken == "":
		return Tokens{}, fmt.Errorf("%w: the session has no refresh token", cred.ErrLoginRequired)
	case !ok:
		return Tokens{}, fmt.Errorf("%w: the session has no client registration", cred.ErrLoginRequired)
	case !r.Expires.After(s.now()):
		return Tokens{}, fmt.Errorf("%w: credd's client registration expired", cred.ErrLoginRequired)
	}
	out, err := s.client().CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(r.ClientID), ClientSecret: aws.String(r.ClientSecret),
		GrantType: aws.String(grantRefresh), RefreshToken: aws.String(old.RefreshToken),
	})
	if err != nil {
		if code := awsapi.ErrorCode(err); refusals[code] {
			return Tokens{}, fmt.Errorf("%w: IAM Identity Center refused the refresh token (%s)", cred.ErrLoginRequired, code)
		}
		return Tokens{}, fmt.Errorf("refreshing the IAM Identity Center token: %w", err)
	}
	return s.tokens(out, r, old.RefreshToken)
}

var _ Method = (*SSO)(nil)

// Reject records that the service refused accessToken (the Identity
// Center portal's UnauthorizedException: the session was revoked or
// ended). If the session still holds that token, it stops handing it out
// and needs a sign-in; a token already replaced is left alone.
func (s *Session) Reject(accessToken string) {
	s.mu.Lock()
	if !s.have || s.tokens.AccessToken != accessToken || accessToken == "" {
		s.mu.Unlock()
		return
	}
	s.tokens.Expiry = s.clock.Now()
	first := s.needs == nil
	s.needs = s.loginRequired("the session is no longer accepted (revoked or ended)")
	s.mu.Unlock()
	s.log.Warn("access token refused: sign-in required", "session", s.name)
	if first {
		s.changed()
	}
}

// AWSCLICacheFile is where the AWS CLI and SDKs keep the token of an
// sso-session: <home>/.aws/sso/cache/<sha1 of the session name>.json.
func AWSCLICacheFile(home, session string) string {
	sum := sha1.Sum([]byte(session))
	return filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json")
}

// cliCache is the AWS CLI's token cache format.
type cliCache struct {
	StartURL              string `json:"startUrl"`
	Region                string `json:"region"`
	AccessToken           string `json:"accessToken"`
	ExpiresAt             string `json:"expiresAt"`
	ClientID              string `json:"clientId,omitempty"`
	ClientSecret          string `json:"clientSecret,omitempty"`
	RegistrationExpiresAt string `json:"registrationExpiresAt,omitempty"`
	RefreshToken          string `json:"refreshToken,omitempty"`
}

const cacheTime = "2006-01-02T15:04:05Z"

// writeCache replaces the cache file atomically (temp file + rename), 0600.
func (s *SSO) writeCache(t Tokens) error {
	b, err := formatCLICache(s.StartURL, s.Region, t)
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.CacheFile)
	if err := private.MkdirAll(dir); err != nil {
		return err
	}
	return atomicfile.Write(s.CacheFile, b, 0o600)
}

// formatCLICache is a session in the AWS CLI's cache format.
func formatCLICache(startURL, region string, t Tokens) ([]byte, error) {
	c := cliCache{
		StartURL: startURL, Region: region, AccessToken: t.AccessToken,
		ExpiresAt: t.Expiry.UTC().Format(cacheTime), RefreshToken: t.RefreshToken,
	}
	if r, ok := registrationOf(t.Extra); ok {
		c.ClientID, c.ClientSecret, c.RegistrationExpiresAt = r.ClientID, r.ClientSecret, r.Expires.UTC().Format(cacheTime)
	}
	return json.Marshal(c)
}

// readCache returns the cached session if it is for this start URL and
// usable (see ReadAWSCLICache).
func (s *SSO) readCache() (Tokens, bool) {
	t, err := ReadAWSCLICache(s.CacheFile, s.StartURL, s.now())
	return t, err == nil
}

// ReadAWSCLICache reads the session the AWS CLI's cache file keeps for
// startURL: an unexpired access token, or one that can be renewed (a
// refresh token with a client registration valid at now, in Extra). It
// fails, saying why, when the file holds no usable session for startURL.
// Its errors never hold a token.
func ReadAWSCLICache(file, startURL string, now time.Time) (Tokens, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Tokens{}, fmt.Errorf("no signed-in session in %s", file)
	}
	return parseCLICache(b, file, startURL, now)
}

// parseCLICache is ReadAWSCLICache of file's content b.
func parseCLICache(b []byte, file, startURL string, now time.Time) (Tokens, error) {
	var c cliCache
	if err := json.Unmarshal(b, &c); err != nil {
		return Tokens{}, fmt.Errorf("%s is not a token cache: %v", file, err)
	}
	if strings.TrimRight(c.StartURL, "/") != strings.TrimRight(startURL, "/") {
		return Tokens{}, fmt.Errorf("the cached session is for %s, not %s", c.StartURL, startURL)
	}
	exp, err := time.Parse(time.RFC3339, c.ExpiresAt)
	if c.AccessToken == "" || err != nil {
		return Tokens{}, fmt.Errorf("%s holds no access token with its expiry", file)
	}
	t := Tokens{AccessToken: c.AccessToken, RefreshToken: c.RefreshToken, Expiry: exp}
	regExp, rerr := time.Parse(time.RFC3339, c.RegistrationExpiresAt)
	canRenew := c.RefreshToken != "" && c.ClientID != "" && c.ClientSecret != "" && rerr == nil && regExp.After(now)
	if canRenew {
		t.Extra = map[string]string{ExtraClientID: c.ClientID, ExtraClientSecret: c.ClientSecret, ExtraRegistrationExpiresAt: regExp.UTC().Format(time.RFC3339)}
		t.RefreshExpiry = regExp
	} else {
		t.RefreshToken = ""
	}
	if !exp.After(now) && !canRenew {
		return Tokens{}, errors.New("the cached session expired")
	}
	return t, nil
}

// Logout ends the session: the portal's Logout with its access token
// (best effort: the session is forgotten either way), the AWS CLI cache
// file if it holds this session's token, and the session itself.
func (s *SSO) Logout(ctx context.Context, sess *Session) error {
	sess.mu.Lock()
	tok, have := sess.tokens.AccessToken, sess.have
	sess.mu.Unlock()
	var errs []error
	if have && tok != "" {
		if _, err := sso.NewFromConfig(s.api().AWS(nil)).Logout(ctx, &sso.LogoutInput{AccessToken: aws.String(tok)}); err != nil && awsapi.ErrorCode(err) != "UnauthorizedException" {
			errs = append(errs, fmt.Errorf("signing out at IAM Identity Center: %w", err))
		}
	}
	if s.CacheFile != "" && tok != "" {
		if b, err := os.ReadFile(s.CacheFile); err == nil {
			var c cliCache
			if json.Unmarshal(b, &c) == nil && c.AccessToken == tok {
				if err := os.Remove(s.CacheFile); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := sess.Forget(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
