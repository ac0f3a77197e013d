package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/dpop"
	"github.com/credd/credd/private"
)

// LoginCacheDir is where the AWS CLI and SDKs keep `aws login` sessions:
// dir when set (AWS_LOGIN_CACHE_DIRECTORY), else <home>/.aws/login/cache.
func LoginCacheDir(home, dir string) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(home, ".aws", "login", "cache")
}

// LoginCacheFile is the file of one session: <dir>/<sha256 of the session
// ARN, hex>.json (botocore's generate_login_cache_key; aws-sdk-go-v2 trims
// spaces first, which a session ARN has none of).
func LoginCacheFile(dir, session string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(session)))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
}

// loginCache is the AWS CLI's login cache format (what `aws login` writes
// and botocore's LoginCredentialFetcher and aws-sdk-go-v2's logincreds
// read and rewrite).
type loginCache struct {
	AccessToken  *loginCacheCredentials `json:"accessToken"`
	TokenType    string                 `json:"tokenType,omitempty"`
	ClientID     string                 `json:"clientId"`
	RefreshToken string                 `json:"refreshToken"`
	IDToken      string                 `json:"idToken,omitempty"`
	// IdentityToken is where aws-sdk-go-v2 reads (and, renewing, writes)
	// the ID token; read only.
	IdentityToken string `json:"identityToken,omitempty"`
	DPoPKey       string `json:"dpopKey"`
}

type loginCacheCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	AccountID       string `json:"accountId"`
	ExpiresAt       string `json:"expiresAt"`
}

// WriteLoginCache replaces the cache file with t, atomically (temp file +
// rename: a reader sees the old session or the new, never a mix) and
// 0600, creating the directory 0700.
func WriteLoginCache(file string, t Tokens) error {
	x := t.Extra
	c := loginCache{
		AccessToken: &loginCacheCredentials{
			AccessKeyID: x[ExtraAccessKeyID], SecretAccessKey: x[ExtraSecretAccessKey], SessionToken: x[ExtraSessionToken],
			AccountID: x[ExtraAccountID], ExpiresAt: t.Expiry.UTC().Format(cacheTime),
		},
		TokenType: "aws_sigv4", ClientID: x[ExtraClientID], RefreshToken: t.RefreshToken, IDToken: t.IDToken, DPoPKey: x[ExtraDPoPKey],
	}
	if c.AccessToken.AccessKeyID == "" || c.ClientID == "" || c.RefreshToken == "" || c.DPoPKey == "" {
		return errors.New("the session lacks credentials, client ID, refresh token or DPoP key")
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := private.MkdirAll(filepath.Dir(file)); err != nil {
		return err
	}
	return atomicfile.Write(file, b, 0o600)
}

// ErrBadLoginCache: the cache file is not a usable `aws login` session.
var ErrBadLoginCache = errors.New("not a usable aws login session")

// ReadLoginCache reads a session from the cache file. Every field a
// renewal needs must be there and the DPoP key must parse; the session ARN
// is not in the file (it names it) and is left to the caller.
func ReadLoginCache(file string) (Tokens, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Tokens{}, err
	}
	var c loginCache
	if err := json.Unmarshal(b, &c); err != nil {
		// Also what a reader sees while the AWS CLI rewrites the file in
		// place (it truncates, then writes).
		return Tokens{}, fmt.Errorf("%w: %s: %v", ErrBadLoginCache, file, err)
	}
	a := c.AccessToken
	if a == nil || a.AccessKeyID == "" || a.SecretAccessKey == "" || a.SessionToken == "" || a.AccountID == "" || c.ClientID == "" || c.RefreshToken == "" || c.DPoPKey == "" {
		return Tokens{}, fmt.Errorf("%w: %s lacks credentials, account, client ID, refresh token or DPoP key", ErrBadLoginCache, file)
	}
	exp, err := time.Parse(time.RFC3339, a.ExpiresAt)
	if err != nil {
		return Tokens{}, fmt.Errorf("%w: %s: expiresAt: %v", ErrBadLoginCache, file, err)
	}
	if _, err := dpop.Parse(c.DPoPKey); err != nil {
		return Tokens{}, fmt.Errorf("%w: %s: dpopKey: %v", ErrBadLoginCache, file, err)
	}
	id := c.IDToken
	if id == "" {
		id = c.IdentityToken
	}
	return Tokens{
		AccessToken: a.SessionToken, IDToken: id, RefreshToken: c.RefreshToken, Expiry: exp,
		Extra: map[string]string{
			ExtraAccessKeyID: a.AccessKeyID, ExtraSecretAccessKey: a.SecretAccessKey, ExtraSessionToken: a.SessionToken,
			ExtraAccountID: a.AccountID, ExtraClientID: c.ClientID, ExtraDPoPKey: c.DPoPKey,
		},
	}, nil
}

// Restore takes the session in the login cache when it is a later one
// than the stored session (`aws login` ran while credd was stopped, or an
// SDK renewed it).
func (s *SignIn) Restore(ctx context.Context, sess *Session) { s.takeCache(ctx, sess) }

// Follow takes the session in the login cache when it is a later one than
// the session held. The daemon calls it when the cache file changes. It
// reports whether the session changed.
func (s *SignIn) Follow(ctx context.Context, sess *Session) bool {
	if !s.takeCache(ctx, sess) {
		return false
	}
	sess.changed()
	return true
}

func (s *SignIn) takeCache(ctx context.Context, sess *Session) bool {
	if s.CacheDir == "" || s.Session == "" {
		return false
	}
	t, err := ReadLoginCache(LoginCacheFile(s.CacheDir, s.Session))
	if err != nil {
		return false
	}
	t.Extra[ExtraLoginSession] = s.Session
	if !sess.offer(ctx, t) {
		return false
	}
	sess.log.Info("session taken from the AWS CLI login cache", "session", sess.name, "expires", t.Expiry.UTC().Format(time.RFC3339))
	return true
}

// Logout forgets the session, and removes the login cache file if it
// holds this session's refresh token (AWS Sign-In has no sign-out call;
// `aws logout` also just removes the file).
func (s *SignIn) Logout(ctx context.Context, sess *Session) error {
	sess.mu.Lock()
	t, have := sess.tokens, sess.have
	sess.mu.Unlock()
	var errs []error
	if session := s.sessionOf(t); have && s.CacheDir != "" && session != "" {
		f := LoginCacheFile(s.CacheDir, session)
		if c, err := ReadLoginCache(f); err == nil && c.RefreshToken == t.RefreshToken {
			if err := os.Remove(f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := sess.Forget(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
