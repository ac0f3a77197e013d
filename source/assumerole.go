package source

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/cred"
)

// RoleAssumer is the STS call AssumeRole needs.
type RoleAssumer interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// ChainedMaxDuration is STS's limit for role chaining.
const ChainedMaxDuration = time.Hour

// AssumeRole calls sts:AssumeRole signed with the credentials of another
// profile.
type AssumeRole struct {
	Profile           string
	Signer            Retriever
	STS               awsapi.Config
	RoleARN           string
	SessionName       string
	ExternalID        string
	SourceIdentity    string
	Duration          time.Duration
	Tags              map[string]string
	TransitiveTagKeys []string
	// Broker mode: session tags whose values come from a signed-in
	// identity's verified claims (tag key -> claim name).
	TagsFromClaims map[string]string
	Claims         IDTokens
	// Client overrides the STS client (tests); nil builds one from STS.
	Client func(signer cred.Credentials) RoleAssumer
}

func (a *AssumeRole) Retrieve(ctx context.Context) (cred.Credentials, error) {
	signer, err := a.Signer.Retrieve(ctx)
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("source credentials for profile %s: %w", a.Profile, err)
	}
	// Any AssumeRole signed with temporary credentials is role chaining:
	// STS caps it at one hour and the console refuses SessionDuration.
	chained := signer.Temporary()
	kind := cred.KindRole
	d := a.Duration
	if chained {
		kind = cred.KindChainedRole
		d = min(d, ChainedMaxDuration)
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(a.RoleARN),
		RoleSessionName: aws.String(a.SessionName),
		DurationSeconds: durationSeconds(d),
	}
	if a.ExternalID != "" {
		in.ExternalId = aws.String(a.ExternalID)
	}
	if a.SourceIdentity != "" {
		in.SourceIdentity = aws.String(a.SourceIdentity)
	}
	tags := a.Tags
	if len(a.TagsFromClaims) > 0 {
		_, claims, err := a.Claims.IDToken(ctx)
		if err != nil {
			return cred.Credentials{}, fmt.Errorf("broker profile %s: %w", a.Profile, err)
		}
		fromClaims, err := TagsFromClaims(claims, a.TagsFromClaims)
		if err != nil {
			return cred.Credentials{}, fmt.Errorf("broker profile %s: %w", a.Profile, err)
		}
		tags = make(map[string]string, len(a.Tags)+len(fromClaims))
		for k, v := range a.Tags {
			tags[k] = v
		}
		for k, v := range fromClaims {
			tags[k] = v
		}
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	in.TransitiveTagKeys = a.TransitiveTagKeys
	client := a.Client
	if client == nil {
		client = func(s cred.Credentials) RoleAssumer { return sts.NewFromConfig(a.STS.AWS(awsapi.Static(s))) }
	}
	out, err := client(signer).AssumeRole(ctx, in)
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("sts:AssumeRole %s for profile %s: %w", a.RoleARN, a.Profile, err)
	}
	if out.Credentials == nil {
		return cred.Credentials{}, fmt.Errorf("sts:AssumeRole %s for profile %s returned no credentials", a.RoleARN, a.Profile)
	}
	return roleCredentials(out.Credentials, out.AssumedRoleUser, a.RoleARN, kind, "assume-role"), nil
}
