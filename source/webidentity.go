package source

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/cred"
)

// IDTokens hands out a verified ID token and its claims (a signed-in
// OpenID Connect session).
type IDTokens interface {
	IDToken(ctx context.Context) (raw string, claims map[string]any, err error)
}

// WebIdentityAssumer is the STS call WebIdentity needs.
type WebIdentityAssumer interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
}

// WebIdentity calls sts:AssumeRoleWithWebIdentity (unsigned) with the
// session's verified ID token. Session tags and source identity, if any,
// come from the token's own https://aws.amazon.com/tags claim, which STS
// reads; credd passes the token unchanged.
type WebIdentity struct {
	Profile          string
	Provider         string // identity provider name, for messages
	Tokens           IDTokens
	STS              awsapi.Config
	RoleARN          string
	SessionNameClaim string // default: email, then sub
	Duration         time.Duration
	LoginHint        string
	Client           WebIdentityAssumer // tests; nil builds one from STS
}

func (w *WebIdentity) Retrieve(ctx context.Context) (cred.Credentials, error) {
	raw, claims, err := w.Tokens.IDToken(ctx)
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("identity provider %s: %w", w.Provider, err)
	}
	name, err := sessionNameFromClaims(claims, w.SessionNameClaim)
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("profile %s: %w", w.Profile, err)
	}
	client := w.Client
	if client == nil {
		client = sts.NewFromConfig(w.STS.AWS(aws.AnonymousCredentials{}))
	}
	out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(w.RoleARN),
		RoleSessionName:  aws.String(name),
		WebIdentityToken: aws.String(raw),
		DurationSeconds:  durationSeconds(w.Duration),
	})
	if err != nil {
		return cred.Credentials{}, w.explain(err)
	}
	if out.Credentials == nil {
		return cred.Credentials{}, fmt.Errorf("sts:AssumeRoleWithWebIdentity for profile %s returned no credentials", w.Profile)
	}
	return roleCredentials(out.Credentials, out.AssumedRoleUser, w.RoleARN, cred.KindRole, "web-identity"), nil
}

// explain names the profile, the provider and the next step.
func (w *WebIdentity) explain(err error) error {
	base := fmt.Errorf("sts:AssumeRoleWithWebIdentity %s for profile %s (identity provider %s): %w", w.RoleARN, w.Profile, w.Provider, err)
	switch awsapi.ErrorCode(err) {
	case "ExpiredTokenException":
		return fmt.Errorf("%w: the ID token expired: run `%s`: %w", cred.ErrLoginRequired, w.LoginHint, base)
	case "InvalidIdentityToken":
		return fmt.Errorf("STS does not trust tokens of %s for this role (check the role's trust policy and the IAM OIDC provider): %w", w.Provider, base)
	case "AccessDenied", "AccessDeniedException":
		return fmt.Errorf("the role's trust policy refuses this identity (check its conditions on aud and sub): %w", base)
	}
	return base
}

// sessionNameFromClaims picks the role session name: the configured claim,
// else email, else sub; sanitized to STS's alphabet and length.
func sessionNameFromClaims(claims map[string]any, claim string) (string, error) {
	candidates := []string{"email", "sub"}
	if claim != "" {
		candidates = []string{claim}
	}
	for _, c := range candidates {
		if v, ok := claims[c].(string); ok && v != "" {
			return SessionName(v), nil
		}
	}
	return "", fmt.Errorf("the ID token has no %q claim for the role session name (session_name_claim)", candidates[0])
}

// TagsFromClaims turns verified claims into session tags: tag key ->
// claim name. A missing or empty claim is an error naming it, never an
// empty tag.
func TagsFromClaims(claims map[string]any, mapping map[string]string) (map[string]string, error) {
	tags := make(map[string]string, len(mapping))
	var missing []string
	for _, tag := range slices.Sorted(maps.Keys(mapping)) {
		claim := mapping[tag]
		var v string
		switch x := claims[claim].(type) {
		case string:
			v = x
		case float64, bool:
			v = fmt.Sprint(x)
		}
		if v == "" {
			missing = append(missing, fmt.Sprintf("%q (for tag %s)", claim, tag))
			continue
		}
		if len(v) > 256 {
			return nil, fmt.Errorf("claim %q is longer than a session tag value may be (256)", claim)
		}
		tags[tag] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the ID token lacks claim %s: session_tags_from_claims needs every claim it names", strings.Join(missing, ", "))
	}
	return tags, nil
}
