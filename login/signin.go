package login

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/signin"
	signintypes "github.com/aws/aws-sdk-go-v2/service/signin/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/dpop"
)

// Client IDs of AWS Sign-In for developer tools, as the AWS CLI's `aws
// login` uses them (awscli/customizations/login/utils.py): the browser
// flow on this machine, and the cross-device flow (`aws login --remote`).
const (
	SignInClientSameDevice  = "arn:aws:signin:::devtools/same-device"
	SignInClientCrossDevice = "arn:aws:signin:::devtools/cross-device"
)

// Keys of Tokens.Extra for an AWS Sign-In session (the names of the AWS
// CLI's login cache). The credentials themselves are the session's
// "access token"; Tokens.AccessToken holds their session token, so a
// change of credentials is a change of tokens.
const (
	ExtraAccessKeyID     = "accessKeyId"
	ExtraSecretAccessKey = "secretAccessKey"
	ExtraSessionToken    = "sessionToken"
	ExtraAccountID       = "accountId"
	ExtraDPoPKey         = "dpopKey"
	ExtraLoginSession    = "loginSession" // the session's ARN: the ID token's sub
	// ExtraClientID ("clientId") is shared with Identity Center.
)

// SignIn signs in to AWS Sign-In as `aws login` does (AWS CLI ≥ 2.32): an
// authorization code with PKCE, in the browser with a loopback redirect or
// through the cross-device page whose code the user pastes, then
// CreateOAuth2Token with a DPoP proof signed by a P-256 key generated for
// the sign-in and kept with the session. The tokens are AWS credentials
// (15 minutes) and a refresh token (the console session: up to 12 hours)
// bound to that key; every renewal rotates the refresh token.
//
// With CacheDir set, the session is shared with the AWS CLI and SDKs both
// ways through their login cache (<CacheDir>/<sha256 of the session
// ARN>.json): every sign-in and renewal is written there (Kept), a later
// session found there is taken (Restore, Follow), and a renewal made by
// another program is taken rather than refused (Refresh reads the file
// first).
type SignIn struct {
	Region     string
	Endpoint   string // overrides https://<region>.signin.aws.amazon.com (tests)
	HTTPClient *http.Client
	Clock      clock.Clock
	// Session, if set, is the login session ARN this session is for (a
	// profile's login_session); a sign-in as anyone else is refused.
	Session string
	// CacheDir is the AWS CLI's login cache (~/.aws/login/cache, or
	// AWS_LOGIN_CACHE_DIRECTORY); empty: no sharing.
	CacheDir string
}

func (s *SignIn) Kind() string { return "signin" }

func (s *SignIn) now() time.Time { return clock.Or(s.Clock).Now() }

func (s *SignIn) client() *signin.Client {
	o := signin.Options{Region: s.Region}
	if s.HTTPClient != nil {
		o.HTTPClient = s.HTTPClient
	}
	if s.Endpoint != "" {
		o.BaseEndpoint = aws.String(s.Endpoint)
	}
	return signin.New(o)
}

// base is the service's endpoint: the token endpoint's host, where the
// browser's /v1/authorize is too.
func (s *SignIn) base(ctx context.Context) (string, error) {
	if s.Endpoint != "" {
		return strings.TrimRight(s.Endpoint, "/"), nil
	}
	e, err := signin.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, signin.EndpointParameters{
		Region: aws.String(s.Region), IsControlPlane: aws.Bool(false),
	})
	if err != nil {
		return "", fmt.Errorf("the AWS Sign-In endpoint of region %q: %w", s.Region, err)
	}
	return strings.TrimRight(e.URI.String(), "/"), nil
}

// withProof adds the DPoP header to a CreateOAuth2Token request, signed
// for the URL it is sent to (after endpoint resolution).
func (s *SignIn) withProof(key *dpop.Key) func(*signin.Options) {
	return signin.WithAPIOptions(func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("DPoPProof", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req, ok := in.Request.(*smithyhttp.Request)
			if !ok {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected request type %T", in.Request)
			}
			proof, err := key.Proof(req.Method, req.URL.String(), s.now())
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			req.Header.Set("DPoP", proof)
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
	})
}

// pkceSHA256 returns a verifier of 64 unreserved characters and its
// challenge, as the AWS CLI makes them for code_challenge_method=SHA-256.
func pkceSHA256() (verifier, challenge string) {
	verifier = randomString(48)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is the browser's sign-in page.
func (s *SignIn) authorizeURL(ctx context.Context, client, redirect, state, challenge string) (string, error) {
	base, err := s.base(ctx)
	if err != nil {
		return "", err
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {client},
		"state":                 {state},
		"code_challenge_method": {"SHA-256"},
		"scope":                 {"openid"},
		"redirect_uri":          {redirect},
		"code_challenge":        {challenge},
	}
	return base + "/v1/authorize?" + q.Encode(), nil
}

// AuthCodeURL starts the browser sign-in on this machine.
func (s *SignIn) AuthCodeURL(ctx context.Context, redirect, state string) (string, func(context.Context, string) (Tokens, error), error) {
	key, err := dpop.Generate()
	if err != nil {
		return "", nil, err
	}
	verifier, challenge := pkceSHA256()
	u, err := s.authorizeURL(ctx, SignInClientSameDevice, redirect, state, challenge)
	if err != nil {
		return "", nil, err
	}
	return u, func(ctx context.Context, code string) (Tokens, error) {
		return s.exchange(ctx, SignInClientSameDevice, code, verifier, redirect, key)
	}, nil
}

// ErrWrongCode: a pasted cross-device code is not the one this sign-in
// waits for (mistyped, or from another sign-in). The flow goes on.
var ErrWrongCode = errors.New("that is not the code this sign-in waits for")

// StartRemote starts the cross-device sign-in (`aws login --remote`): the
// user opens authURL on any device, signs in, and pastes the code the
// confirmation page shows; redeem trades it for tokens. A code that is
// not this sign-in's gives ErrWrongCode and may be pasted again.
func (s *SignIn) StartRemote(ctx context.Context) (authURL string, redeem func(ctx context.Context, pasted string) (Tokens, error), err error) {
	key, err := dpop.Generate()
	if err != nil {
		return "", nil, err
	}
	base, err := s.base(ctx)
	if err != nil {
		return "", nil, err
	}
	redirect := base + "/v1/sessions/confirmation"
	verifier, challenge := pkceSHA256()
	state := randomString(24)
	u, err := s.authorizeURL(ctx, SignInClientCrossDevice, redirect, state, challenge)
	if err != nil {
		return "", nil, err
	}
	return u, func(ctx context.Context, pasted string) (Tokens, error) {
		code, err := parsePastedCode(pasted, state)
		if err != nil {
			return Tokens{}, err
		}
		return s.exchange(ctx, SignInClientCrossDevice, code, verifier, redirect, key)
	}, nil
}

// parsePastedCode reads the cross-device code: base64 of
// "state=<state>&code=<code>".
func parsePastedCode(pasted, state string) (string, error) {
	pasted = strings.TrimSpace(pasted)
	raw, err := base64.StdEncoding.DecodeString(pasted)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(pasted, "="))
	}
	if err != nil {
		return "", fmt.Errorf("%w: it is not base64", ErrWrongCode)
	}
	q, err := url.ParseQuery(string(raw))
	if err != nil || q.Get("code") == "" {
		return "", fmt.Errorf("%w: it holds no authorization code", ErrWrongCode)
	}
	if q.Get("state") != state {
		return "", fmt.Errorf("%w: it is from another sign-in (state mismatch)", ErrWrongCode)
	}
	return q.Get("code"), nil
}

// StartDevice: AWS Sign-In has no device authorization grant; its
// cross-device flow is StartRemote.
func (s *SignIn) StartDevice(context.Context) (DeviceStart, func(context.Context) (Tokens, error), error) {
	return DeviceStart{}, nil, errors.New("AWS Sign-In has no device code flow: use the cross-device sign-in (credd login --signin --remote)")
}

func (s *SignIn) exchange(ctx context.Context, client, code, verifier, redirect string, key *dpop.Key) (Tokens, error) {
	out, err := s.client().CreateOAuth2Token(ctx, &signin.CreateOAuth2TokenInput{TokenInput: &signintypes.CreateOAuth2TokenRequestBody{
		ClientId: aws.String(client), GrantType: aws.String("authorization_code"), Code: aws.String(code),
		CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect),
	}}, s.withProof(key))
	if err != nil {
		return Tokens{}, fmt.Errorf("exchanging the authorization code with AWS Sign-In: %w", describeSignInError(err))
	}
	o := out.TokenOutput
	if o == nil || o.IdToken == nil {
		return Tokens{}, errors.New("AWS Sign-In answered the code exchange without an ID token")
	}
	session, err := subject(aws.ToString(o.IdToken))
	if err != nil {
		return Tokens{}, fmt.Errorf("AWS Sign-In's ID token: %w", err)
	}
	account, err := arnAccount(session)
	if err != nil {
		return Tokens{}, fmt.Errorf("AWS Sign-In's ID token: %w", err)
	}
	if s.Session != "" && session != s.Session {
		return Tokens{}, fmt.Errorf("you signed in as %s, but this session is %s: sign in as that user, or make the profile's login_session %s", session, s.Session, session)
	}
	t := Tokens{IDToken: aws.ToString(o.IdToken), Extra: map[string]string{
		ExtraClientID: client, ExtraDPoPKey: key.PEM(), ExtraLoginSession: session, ExtraAccountID: account,
	}}
	return s.update(t, o)
}

// update makes t carry a token answer's credentials and refresh token.
func (s *SignIn) update(t Tokens, o *signintypes.CreateOAuth2TokenResponseBody) (Tokens, error) {
	if o == nil || o.AccessToken == nil || o.ExpiresIn == nil || aws.ToString(o.RefreshToken) == "" {
		return Tokens{}, errors.New("AWS Sign-In's token answer lacks credentials, their lifetime or a refresh token")
	}
	c := o.AccessToken
	if aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" {
		return Tokens{}, errors.New("AWS Sign-In's token answer holds incomplete credentials")
	}
	extra := make(map[string]string, len(t.Extra)+3)
	for k, v := range t.Extra {
		extra[k] = v
	}
	extra[ExtraAccessKeyID] = aws.ToString(c.AccessKeyId)
	extra[ExtraSecretAccessKey] = aws.ToString(c.SecretAccessKey)
	extra[ExtraSessionToken] = aws.ToString(c.SessionToken)
	return Tokens{
		AccessToken: aws.ToString(c.SessionToken), IDToken: t.IDToken, RefreshToken: aws.ToString(o.RefreshToken),
		Expiry: s.now().Add(time.Duration(aws.ToInt32(o.ExpiresIn)) * time.Second), Extra: extra,
	}, nil
}

// subject is the sub of a JWT, unverified: the ID token comes straight
// from the service over TLS and names the session; nothing is granted on
// its word (the credentials come with it).
func subject(jwt string) (string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("payload: %w", err)
	}
	var c struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.Sub == "" {
		return "", errors.New("no sub claim")
	}
	return c.Sub, nil
}

// arnAccount is the account of an ARN (arn:partition:service:region:account:resource).
func arnAccount(arn string) (string, error) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || len(p[4]) != 12 {
		return "", fmt.Errorf("the session %q is not an ARN with an account", arn)
	}
	return p[4], nil
}

// signInRefusals are the AccessDeniedException errors after which only a
// new sign-in helps.
var signInRefusals = map[signintypes.OAuth2ErrorCode]string{
	signintypes.OAuth2ErrorCodeTokenExpired:            "the sign-in session ended",
	signintypes.OAuth2ErrorCodeUserCredentialsChanged:  "the user's password changed",
	signintypes.OAuth2ErrorCodeInsufficientPermissions: "the user may not call signin:CreateOAuth2Token (missing permission)",
	signintypes.OAuth2ErrorCodeAuthcodeExpired:         "the authorization code expired",
}

// describeSignInError words the service's OAuth2 error codes.
func describeSignInError(err error) error {
	var ad *signintypes.AccessDeniedException
	if errors.As(err, &ad) {
		if why, ok := signInRefusals[ad.Error_]; ok {
			return fmt.Errorf("%s (%s): %w", why, ad.Error_, err)
		}
	}
	return err
}

// refused reports whether a token error means only a new sign-in helps.
func refused(err error) bool {
	var ad *signintypes.AccessDeniedException
	var ve *signintypes.ValidationException
	switch {
	case errors.As(err, &ad):
		return true
	case errors.As(err, &ve):
		// INVALID_REQUEST with a grant that is invalid, expired, revoked
		// or malformed: the refresh token is not (or no longer) valid.
		return true
	}
	return false
}

// Refresh renews the credentials with the refresh token, proving the
// session's DPoP key. When the login cache holds a later renewal of the
// same session (another program renewed it, rotating the refresh token),
// that one is the session now: it is taken as is while it lasts more than
// five minutes (what the AWS CLI waits for), else renewed.
func (s *SignIn) Refresh(ctx context.Context, old Tokens) (Tokens, error) {
	base := old
	if c, ok := s.laterInCache(old); ok {
		if c.Expiry.After(s.now().Add(5 * time.Minute)) {
			return c, nil
		}
		base = c
	}
	t, err := s.renew(ctx, base)
	if err != nil && refused(err) {
		// Refused: unless another program rotated the refresh token
		// while this renewal was on its way.
		if c, ok := s.laterInCache(base); ok && c.Expiry.After(s.now()) {
			return c, nil
		}
		return Tokens{}, fmt.Errorf("%w: AWS Sign-In refused the refresh token: %v", cred.ErrLoginRequired, describeSignInError(err))
	}
	return t, err
}

func (s *SignIn) renew(ctx context.Context, old Tokens) (Tokens, error) {
	if old.RefreshToken == "" || old.Extra[ExtraClientID] == "" {
		return Tokens{}, fmt.Errorf("%w: the session has no refresh token", cred.ErrLoginRequired)
	}
	key, err := dpop.Parse(old.Extra[ExtraDPoPKey])
	if err != nil {
		return Tokens{}, fmt.Errorf("%w: the session's DPoP key: %v", cred.ErrLoginRequired, err)
	}
	out, err := s.client().CreateOAuth2Token(ctx, &signin.CreateOAuth2TokenInput{TokenInput: &signintypes.CreateOAuth2TokenRequestBody{
		ClientId: aws.String(old.Extra[ExtraClientID]), GrantType: aws.String("refresh_token"), RefreshToken: aws.String(old.RefreshToken),
	}}, s.withProof(key))
	if err != nil {
		if refused(err) {
			return Tokens{}, err
		}
		return Tokens{}, fmt.Errorf("renewing the AWS Sign-In session: %w", err)
	}
	return s.update(old, out.TokenOutput)
}

// sessionOf is the login session ARN tokens belong to.
func (s *SignIn) sessionOf(t Tokens) string {
	if v := t.Extra[ExtraLoginSession]; v != "" {
		return v
	}
	return s.Session
}

// laterInCache returns the login cache's tokens when they are a later
// state of the same session as t: the same DPoP key, another refresh
// token, and credentials that outlast t's.
func (s *SignIn) laterInCache(t Tokens) (Tokens, bool) {
	session := s.sessionOf(t)
	if s.CacheDir == "" || session == "" {
		return Tokens{}, false
	}
	f, err := s.cacheFile(session)
	if err != nil {
		return Tokens{}, false // Kept says why
	}
	c, err := ReadLoginCache(f)
	if err != nil || c.RefreshToken == t.RefreshToken || !c.Expiry.After(t.Expiry) {
		return Tokens{}, false
	}
	mine, err1 := dpop.Parse(t.Extra[ExtraDPoPKey])
	theirs, err2 := dpop.Parse(c.Extra[ExtraDPoPKey])
	if err1 != nil || err2 != nil || !mine.Equal(theirs) {
		return Tokens{}, false
	}
	c.Extra[ExtraLoginSession] = session
	return c, true
}

// Kept shares the session with the AWS CLI's login cache after every
// sign-in, renewal or adoption the session keeps, in order (login.keeper).
func (s *SignIn) Kept(t Tokens) error {
	session := s.sessionOf(t)
	if s.CacheDir == "" || session == "" {
		return nil
	}
	f, err := s.cacheFile(session)
	if err != nil {
		return fmt.Errorf("the AWS CLI's login cache was not updated: %w", err)
	}
	if err := WriteLoginCache(f, t); err != nil {
		return fmt.Errorf("the AWS CLI's login cache %s was not updated: %w", f, err)
	}
	return nil
}

var _ Method = (*SignIn)(nil)
