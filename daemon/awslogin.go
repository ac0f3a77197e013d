package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/credd/credd/config"
	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/login"
	"github.com/credd/credd/source"
	"github.com/credd/credd/store"
)

// AWS Sign-In (`aws login`) sessions: profiles name them with
// login_session (in credd's configuration, or in ~/.aws/config behind an
// aws_profile), and credd holds each as a sign-in session of its own,
// renewing it ahead of its 15-minute credentials' end and sharing it with
// the AWS CLI's login cache. credd is then the only program that renews
// it: the others find fresh credentials in the cache and never spend the
// rotating refresh token.

// signinRenewAhead is when an AWS Sign-In session renews: half the life
// of its 15-minute credentials, before the AWS CLI and botocore (5
// minutes before the end) or aws-sdk-go-v2 (at the end) would.
const signinRenewAhead = 450 * time.Second

// signinKey is the store key ("signin/<account>/<user or role session>")
// of the AWS Sign-In session of an ARN.
func signinKey(arn string) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 {
		return "signin/" + shortHash(arn)
	}
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.@+-/", r)) {
				return r
			}
			return '_'
		}, s)
	}
	k := "signin/" + clean(p[4]) + "/" + clean(p[5])
	if store.ValidateKey(k) != nil {
		return "signin/" + clean(p[4]) + "/" + shortHash(arn)
	}
	return k
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// signinSessions groups the profiles of cfg by the AWS Sign-In session
// they name: ARN -> profile names, sorted.
func signinSessions(cfg config.Config) map[string][]string {
	out := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Profiles)) {
		if arn := cfg.Profiles[name].LoginSession; arn != "" {
			out[arn] = append(out[arn], name)
		}
	}
	return out
}

// signinMethod is the login.SignIn of the session arn, used by profiles
// (sorted): their first region, else sts.region.
func (r *sessionRegistry) signinMethod(cfg config.Config, arn string, profiles []string) *login.SignIn {
	region := cfg.STS.Region
	for _, p := range profiles {
		if rg := cfg.Profiles[p].Region; rg != "" {
			region = rg
			break
		}
	}
	m := &login.SignIn{Region: region, Endpoint: cfg.SignIn.Endpoint, HTTPClient: r.deps.HTTP, Clock: r.deps.Clock, Session: arn}
	if cfg.SignIn.SharesAWSCLICache() && (r.deps.HomeDir != "" || r.deps.LoginCacheDir != "") {
		m.CacheDir = login.LoginCacheDir(r.deps.HomeDir, r.deps.LoginCacheDir)
	}
	return m
}

// syncSignIns adds to next a session for each AWS Sign-In session that
// profiles of cfg name, keeping the existing ones whose configuration is
// unchanged. Called by sync, with r.mu held.
func (r *sessionRegistry) syncSignIns(ctx context.Context, cfg config.Config, next map[string]*session) {
	for arn, profiles := range signinSessions(cfg) {
		m := r.signinMethod(cfg, arn, profiles)
		k, hint := signinKey(arn), signinHint(profiles)
		key := hashOf(struct {
			Region, Endpoint, Session, CacheDir, Hint string
		}{m.Region, m.Endpoint, m.Session, m.CacheDir, hint})
		if old, ok := r.byName[k]; ok && old.key == key {
			next[k] = old
			continue
		}
		sess := login.New(ctx, k, m, login.Options{
			Store: r.deps.Store, Clock: r.deps.Clock, Logger: r.log.With("component", "login"),
			LoginHint: hint, OnChange: r.deps.OnChange, RenewAhead: signinRenewAhead,
			FetchTimeout: r.fetchTimeout,
		})
		// A later session that `aws login` (or an SDK) left in the cache.
		m.Restore(ctx, sess)
		next[k] = &session{sess: sess, aws: m, key: key, flow: "browser", hint: hint}
	}
}

// onlySignIn is the AWS Sign-In session `credd login --signin` means
// without --profile: the only one profiles name.
func onlySignIn(cfg config.Config) (string, error) {
	byARN := signinSessions(cfg)
	switch len(byARN) {
	case 0:
		return "", cred.Errorf(cred.ErrInvalid, "no profile names an AWS Sign-In session: add one with login_session (the ARN `aws login` signs in as), e.g. profiles: {console: {login_session: \"arn:aws:sts::111122223333:assumed-role/Admin/alice\"}}, or set login_session in ~/.aws/config")
	case 1:
		for arn := range byARN {
			return signinKey(arn), nil
		}
	}
	var names []string
	for _, ps := range byARN {
		names = append(names, ps[0])
	}
	slices.SortFunc(names, compareNatural)
	return "", cred.Errorf(cred.ErrInvalid, "profiles name %d AWS Sign-In sessions: say which with --profile (%s)", len(byARN), strings.Join(names, ", "))
}

// signinHint is the command that signs in to the session arn.
func signinHint(profiles []string) string {
	return "credd login --signin --profile " + profiles[0]
}

// adoptLoginSessions makes credd hold the `aws login` sessions that
// aws_profile profiles rest on: a profile whose AWS profile names
// login_session (its own section; the AWS SDK reads it from no other),
// and that the SDK signs in with nothing else nor uses to assume a role,
// becomes a login_session profile with that profile's region, so that
// credd renews the session rather than the AWS SDK inside it, only when
// the credentials have already expired. The configuration passed in is
// not changed.
func adoptLoginSessions(cfg config.Config, shared *source.SharedFiles) config.Config {
	var adopt map[string]config.Profile
	for name, p := range cfg.Profiles {
		if p.Source() != config.SourceAWSProfile || p.MFASerial != "" {
			continue
		}
		sp, ok := shared.Lookup(p.AWSProfile)
		if !ok {
			continue
		}
		// Only a profile the AWS SDK signs in with its login_session, and
		// uses as it is: one with keys, Identity Center or a role on the
		// session stays the SDK's (config.AWSLoginSession says why).
		arn, _ := config.AWSLoginSession(func(k string) string { v, _ := sp.Get(k); return v })
		if arn == "" {
			continue
		}
		if adopt == nil {
			adopt = map[string]config.Profile{}
		}
		p.AWSProfile, p.LoginSession = "", arn
		if p.Region == "" {
			p.Region, _ = sp.Get("region")
		}
		adopt[name] = p
	}
	if adopt == nil {
		return cfg
	}
	out := cfg
	out.Profiles = maps.Clone(cfg.Profiles)
	maps.Copy(out.Profiles, adopt)
	return out
}

// signinCredentials serves a profile the credentials of its AWS Sign-In
// session: they are the session's own tokens, renewed by the session.
type signinCredentials struct {
	d       *Daemon
	key     string
	profile string
}

func (s signinCredentials) Retrieve(ctx context.Context) (cred.Credentials, error) {
	si := s.d.sessions.get(s.key)
	if si == nil {
		return cred.Credentials{}, fmt.Errorf("profile %s: no AWS Sign-In session %s", s.profile, s.key)
	}
	t, err := si.sess.Tokens(ctx)
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("profile %s: %w", s.profile, err)
	}
	x := t.Extra
	return cred.Credentials{AccessKeyID: x[login.ExtraAccessKeyID], SecretAccessKey: x[login.ExtraSecretAccessKey],
		SessionToken: x[login.ExtraSessionToken], Expires: t.Expiry, AccountID: x[login.ExtraAccountID]}, nil
}

// SubmitLoginCode passes the code a cross-device sign-in's page showed to
// the flow of ticket id, and reports the sign-in once it is done. A code
// that is not the flow's is an error of kind invalid; the flow goes on.
func (d *Daemon) SubmitLoginCode(ctx context.Context, id, code string) (control.LoginState, error) {
	f, _, err := d.sessions.flow(id)
	if err != nil {
		return control.LoginState{}, err
	}
	if !f.Remote {
		return control.LoginState{}, cred.Errorf(cred.ErrInvalid, "sign-in %s is not a cross-device one: it takes no code", id)
	}
	if err := f.Submit(ctx, code); err != nil {
		if errors.Is(err, login.ErrWrongCode) {
			return control.LoginState{}, cred.Errorf(cred.ErrInvalid, "%v", err)
		}
		return control.LoginState{}, err
	}
	return d.LoginStatus(ctx, id, time.Second) // done: answers at once
}
