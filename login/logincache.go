package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/credd/credd/atomicfile"
	"github.com/credd/credd/awsfile"
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

// maxLoginCache is the largest cache file read: one holds a few KB.
const maxLoginCache = 1 << 20

// cacheEffect is what credd does while it refuses the login cache
// directory (awsfile.CheckDir).
const cacheEffect = "credd shares no aws login session with the AWS CLI through it until then (it keeps its own in its session store)"

// cacheFile is the login cache file of session, once the cache directory
// is one credd may trust (awsfile.CheckDir): neither another user nor a
// directory or link of theirs on the way can put a session of theirs
// there, which credd would take and serve as the user's, or remove the
// user's. A directory that does not exist yet is no refusal:
// WriteLoginCache makes it, private. Every read and write of the cache
// goes through it.
func (s *SignIn) cacheFile(session string) (string, error) {
	if err := CheckCacheDir(s.CacheDir); err != nil {
		return "", err
	}
	return LoginCacheFile(s.CacheDir, session), nil
}

// CheckCacheDir tells whether credd shares sessions through the login
// cache directory dir (awsfile.CheckDir): nil when it may, or when dir
// does not exist yet; else an *awsfile.RefusedError saying why, what
// fixes it, and that credd shares nothing through it until then.
func CheckCacheDir(dir string) error {
	if err := awsfile.CheckDir(dir, cacheEffect); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ReadLoginCache reads a session from the cache file. It must be a
// regular file of the user's (private.Foreign; another's is an
// awsfile.RefusedError, and the directory is SignIn.cacheFile's to
// check) of at most 1 MiB; every field a renewal
// needs must be there and the DPoP key must parse; the session ARN is not
// in the file (it names it) and is left to the caller.
func ReadLoginCache(file string) (Tokens, error) {
	b, err := readOwn(file)
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

// readOwn reads file, a regular file of this user's (or, on Windows,
// any: see private.Foreign) of at most maxLoginCache bytes.
func readOwn(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadLoginCache, file)
	}
	if owner, foreign := private.Foreign(fi); foreign {
		return nil, &awsfile.RefusedError{Path: file, Reason: "it belongs to user " + owner + ", not to you: that user could put a session of theirs in place of yours", Fix: "remove it", Effect: cacheEffect}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLoginCache+1))
	if err == nil && len(b) > maxLoginCache {
		err = fmt.Errorf("%w: %s is larger than %d bytes", ErrBadLoginCache, file, maxLoginCache)
	}
	return b, err
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
	f, err := s.cacheFile(s.Session)
	if err == nil {
		var t Tokens
		if t, err = ReadLoginCache(f); err == nil {
			return s.offerCache(ctx, sess, t)
		}
	}
	// Not a missing file, nor one the AWS CLI is rewriting in place.
	if errors.Is(err, awsfile.ErrRefused) {
		sess.log.Warn("the AWS CLI's login cache is refused", "session", sess.name, "error", err)
	}
	return false
}

// offerCache offers the session a cache file held (takeCache).
func (s *SignIn) offerCache(ctx context.Context, sess *Session, t Tokens) bool {
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
		f, err := s.cacheFile(session)
		if err != nil {
			errs = append(errs, err)
		} else if c, err := ReadLoginCache(f); err == nil && c.RefreshToken == t.RefreshToken {
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
