package source

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
)

// AccessTokens hands out a valid IAM Identity Center access token (a
// signed-in sso_sessions entry).
type AccessTokens interface {
	AccessToken(ctx context.Context) (string, error)
}

// TokenRejecter is implemented by AccessTokens that want to know when the
// portal refused a token they handed out, so the session can say it needs
// a sign-in.
type TokenRejecter interface {
	Rejected(ctx context.Context, accessToken string)
}

// RoleCredentialsGetter is the portal call SSORole needs.
type RoleCredentialsGetter interface {
	GetRoleCredentials(ctx context.Context, in *sso.GetRoleCredentialsInput, optFns ...func(*sso.Options)) (*sso.GetRoleCredentialsOutput, error)
}

// SSORole fetches a role's credentials from the IAM Identity Center portal
// (GetRoleCredentials) with the session's access token.
type SSORole struct {
	Profile   string
	Session   string // sso_sessions name, for messages
	Tokens    AccessTokens
	Portal    awsapi.Config
	AccountID string
	RoleName  string
	LoginHint string                // "credd login --sso-session corp"
	Client    RoleCredentialsGetter // tests; nil builds one from Portal
	Clock     clock.Clock           // nil: real time
}

func (s *SSORole) Retrieve(ctx context.Context) (cred.Credentials, error) {
	tok, err := s.Tokens.AccessToken(ctx)
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("sso session %s: %w", s.Session, err)
	}
	client := s.Client
	if client == nil {
		client = sso.NewFromConfig(s.Portal.AWS(nil))
	}
	out, err := client.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String(tok),
		AccountId:   aws.String(s.AccountID),
		RoleName:    aws.String(s.RoleName),
	})
	if err != nil {
		if r, ok := s.Tokens.(TokenRejecter); ok && awsapi.ErrorCode(err) == "UnauthorizedException" {
			r.Rejected(ctx, tok)
		}
		return cred.Credentials{}, s.explain(err)
	}
	rc := out.RoleCredentials
	if rc == nil || aws.ToString(rc.AccessKeyId) == "" {
		return cred.Credentials{}, fmt.Errorf("sso:GetRoleCredentials %s/%s for profile %s returned no credentials", s.AccountID, s.RoleName, s.Profile)
	}
	expires := time.UnixMilli(rc.Expiration).UTC() // epoch milliseconds
	if now := clock.Or(s.Clock).Now(); !expires.After(now) {
		// Just issued, yet expired here: this machine's clock is off.
		return cred.Credentials{}, fmt.Errorf("sso:GetRoleCredentials %s/%s for profile %s: the credentials expire at %s, which this machine's clock (%s) says is past: is the clock wrong?",
			s.AccountID, s.RoleName, s.Profile, expires.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return cred.Credentials{
		AccessKeyID:     aws.ToString(rc.AccessKeyId),
		SecretAccessKey: aws.ToString(rc.SecretAccessKey),
		SessionToken:    aws.ToString(rc.SessionToken),
		Expires:         expires,
		AccountID:       s.AccountID,
		Kind:            cred.KindRole,
		Source:          "sso",
	}, nil
}

// explain names the profile, the role and the next step.
func (s *SSORole) explain(err error) error {
	base := fmt.Errorf("sso:GetRoleCredentials %s/%s for profile %s (sso session %s): %w", s.AccountID, s.RoleName, s.Profile, s.Session, err)
	switch awsapi.ErrorCode(err) {
	case "UnauthorizedException":
		return fmt.Errorf("%w: the IAM Identity Center session is no longer valid: run `%s`: %w", cred.ErrLoginRequired, s.LoginHint, base)
	case "ForbiddenException":
		return fmt.Errorf("you are not assigned role %s in account %s (check account_id and role_name, or the assignment in IAM Identity Center): %w", s.RoleName, s.AccountID, base)
	case "TooManyRequestsException":
		return fmt.Errorf("the portal is throttling; credd retries with backoff: %w", base)
	}
	return base
}
