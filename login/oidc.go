package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"golang.org/x/oauth2"
)

// OIDC signs in to an OpenID Connect provider. Only ID tokens verified
// against the provider's keys (issuer, audience = client ID, expiry, and
// the nonce of the sign-in) are ever kept.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string // confidential clients only; from client_secret_env
	Scopes       []string
	HTTPClient   *http.Client
	Clock        clock.Clock // nil: real time

	mu       sync.Mutex
	provider *oidc.Provider
}

func (o *OIDC) Kind() string { return "oidc" }

func (o *OIDC) ctx(ctx context.Context) context.Context {
	if o.HTTPClient != nil {
		return oidc.ClientContext(ctx, o.HTTPClient)
	}
	return ctx
}

// discover fetches the provider's metadata once (and again after a failure).
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering OpenID provider %s: %w", o.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) config(p *oidc.Provider, redirect string) *oauth2.Config {
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = defaultScopes(p)
	}
	ep := p.Endpoint()
	if o.ClientSecret == "" {
		// A public client names itself in the form. Left to guess, oauth2
		// tries Basic auth first and repeats every failed request (each
		// device poll, too) in the form.
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, Endpoint: ep, RedirectURL: redirect, Scopes: scopes}
}

// defaultScopes are openid (first: some providers issue an ID token only
// then), email where offered, and offline_access only where the provider
// advertises it: Okta and Keycloak need it for a refresh token, while
// Google and others reject it.
func defaultScopes(p *oidc.Provider) []string {
	var meta struct {
		ScopesSupported []string `json:"scopes_supported"`
	}
	_ = p.Claims(&meta)
	scopes := []string{oidc.ScopeOpenID}
	if len(meta.ScopesSupported) == 0 {
		return append(scopes, "email")
	}
	for _, want := range []string{"email", oidc.ScopeOfflineAccess} {
		for _, have := range meta.ScopesSupported {
			if have == want {
				scopes = append(scopes, want)
			}
		}
	}
	return scopes
}

// verify checks an ID token and returns it with its expiry.
func (o *OIDC) verify(ctx context.Context, p *oidc.Provider, raw, nonce string) (*oidc.IDToken, error) {
	if raw == "" {
		return nil, errors.New("the provider returned no ID token (is the openid scope granted?)")
	}
	tok, err := p.Verifier(&oidc.Config{ClientID: o.ClientID}).Verify(o.ctx(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("ID token from %s rejected: %w", o.Issuer, err)
	}
	if nonce != "" && tok.Nonce != nonce {
		return nil, fmt.Errorf("ID token from %s rejected: nonce does not match this sign-in", o.Issuer)
	}
	return tok, nil
}

func (o *OIDC) tokens(ctx context.Context, p *oidc.Provider, t *oauth2.Token, nonce string) (Tokens, error) {
	raw, _ := t.Extra("id_token").(string)
	id, err := o.verify(ctx, p, raw, nonce)
	if err != nil {
		return Tokens{}, err
	}
	out := Tokens{AccessToken: t.AccessToken, IDToken: raw, RefreshToken: t.RefreshToken, Expiry: id.Expiry}
	// Keycloak and others say when the refresh token (the session) ends.
	if secs, ok := t.Extra("refresh_expires_in").(float64); ok && secs > 0 {
		out.RefreshExpiry = clock.Or(o.Clock).Now().Add(time.Duration(secs) * time.Second)
	}
	return out, nil
}

func (o *OIDC) AuthCodeURL(ctx context.Context, redirect, state string) (string, func(context.Context, string) (Tokens, error), error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", nil, err
	}
	conf := o.config(p, redirect)
	verifier := oauth2.GenerateVerifier()
	nonce := randomString(16)
	u := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	return u, func(ctx context.Context, code string) (Tokens, error) {
		t, err := conf.Exchange(o.ctx(ctx), code, oauth2.VerifierOption(verifier))
		if err != nil {
			return Tokens{}, fmt.Errorf("exchanging the authorization code at %s: %w", o.Issuer, withoutAnswer(err, code, verifier, o.ClientSecret))
		}
		return o.tokens(ctx, p, t, nonce)
	}, nil
}

func (o *OIDC) StartDevice(ctx context.Context) (DeviceStart, func(context.Context) (Tokens, error), error) {
	p, err := o.discover(ctx)
	if err != nil {
		return DeviceStart{}, nil, err
	}
	conf := o.config(p, "")
	if conf.Endpoint.DeviceAuthURL == "" {
		return DeviceStart{}, nil, fmt.Errorf("%s does not offer device sign-in (no device_authorization_endpoint): use the browser flow", o.Issuer)
	}
	da, err := conf.DeviceAuth(o.ctx(ctx))
	if err != nil {
		return DeviceStart{}, nil, fmt.Errorf("starting device sign-in at %s: %w", o.Issuer, withoutAnswer(err, o.ClientSecret))
	}
	ds := DeviceStart{UserCode: da.UserCode, VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		Expires: da.Expiry, Interval: time.Duration(da.Interval) * time.Second}
	return ds, func(ctx context.Context) (Tokens, error) {
		t, err := conf.DeviceAccessToken(o.ctx(ctx), da)
		if err != nil {
			return Tokens{}, fmt.Errorf("device sign-in at %s: %w", o.Issuer, withoutAnswer(err, da.DeviceCode, o.ClientSecret))
		}
		return o.tokens(ctx, p, t, "")
	}, nil
}

func (o *OIDC) Refresh(ctx context.Context, old Tokens) (Tokens, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return Tokens{}, err
	}
	t, err := o.config(p, "").TokenSource(o.ctx(ctx), &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.Response != nil && re.Response.StatusCode/100 == 4 && re.Response.StatusCode != http.StatusTooManyRequests) {
			return Tokens{}, fmt.Errorf("%w: %s refused the refresh token (%s)", cred.ErrLoginRequired, o.Issuer, re.ErrorCode)
		}
		return Tokens{}, fmt.Errorf("refreshing at %s: %w", o.Issuer, withoutAnswer(err, old.RefreshToken, o.ClientSecret))
	}
	return o.tokens(ctx, p, t, "")
}

// withoutAnswer is err without the token endpoint's answer. oauth2 quotes
// an answer that is not a standard error document whole, and an error
// page (a proxy's, say) may repeat the request, whose form carries the
// refresh token, the client secret or the code. What stays: the HTTP
// status, and the standard error code and description with the request's
// secrets blanked (cred.Redact, in every encoding). Other errors pass
// unchanged.
func withoutAnswer(err error, secrets ...string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	msg := "the token endpoint answered"
	if re.Response != nil {
		msg += " " + re.Response.Status
	}
	switch {
	case re.ErrorCode != "":
		msg += ": " + re.ErrorCode
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
	case len(re.Body) > 0:
		msg += fmt.Sprintf(" (its %d-byte answer is not shown: it may repeat the request, which carries secrets)", len(re.Body))
	}
	return errors.New(cred.Redact(msg, secrets...))
}

// Claims verifies a stored ID token again and returns its claims. Tokens
// are verified when received; this re-check guards the store.
func (o *OIDC) Claims(ctx context.Context, raw string) (map[string]any, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	id, err := o.verify(ctx, p, raw, "")
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return nil, err
	}
	return claims, nil
}
