package console

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/source"
)

// AllowAll is the session policy of federation sessions when the profile
// names none. A GetFederationToken session without a policy may do
// nothing; with this one STS grants the intersection of it and the IAM
// user's own policies, which is exactly the user's permissions.
const AllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// FederationTokenGetter is the STS call Federation needs, signed with the
// IAM user's long-term keys.
type FederationTokenGetter interface {
	GetFederationToken(ctx context.Context, in *sts.GetFederationTokenInput, optFns ...func(*sts.Options)) (*sts.GetFederationTokenOutput, error)
}

// Federation is a sts:GetFederationToken call: how IAM user keys, which
// cannot sign in themselves, get credentials that can.
type Federation struct {
	Profile string // for messages
	// Name is the federated user's name (2..32 of [\w+=,.@-]); any text is
	// made valid, see FederationName.
	Name string
	// Policy (inline JSON) and PolicyARNs (managed policies) bound the
	// session; with neither, AllowAll.
	Policy     string
	PolicyARNs []string
	Duration   time.Duration // 15m..12h; 0: 1h
}

// FederationName makes a valid federated user name (2..32 characters of
// [\w+=,.@-]) from any text such as a local user name.
func FederationName(s string) string { return source.STSName(s, 32) }

// Get calls sts:GetFederationToken with client, which must sign with the
// IAM user's long-term keys.
func (f Federation) Get(ctx context.Context, client FederationTokenGetter) (cred.Credentials, error) {
	d := f.Duration
	if d == 0 {
		d = time.Hour
	}
	in := &sts.GetFederationTokenInput{
		Name:            aws.String(FederationName(f.Name)),
		DurationSeconds: aws.Int32(int32(max(MinSessionDuration, min(d, MaxSessionDuration)) / time.Second)),
	}
	for _, arn := range f.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String(arn)})
	}
	switch {
	case f.Policy != "":
		in.Policy = aws.String(f.Policy)
	case len(f.PolicyARNs) == 0:
		in.Policy = aws.String(AllowAll)
	}
	out, err := client.GetFederationToken(ctx, in)
	if err != nil {
		return cred.Credentials{}, fmt.Errorf("profile %s rests on IAM user keys, which sign in to the console through sts:GetFederationToken, and that failed: %w "+
			"(the IAM user needs sts:GetFederationToken; a profile's console.policy or console.policy_arns bound the session)", f.Profile, err)
	}
	if out.Credentials == nil {
		return cred.Credentials{}, fmt.Errorf("sts:GetFederationToken for profile %s returned no credentials", f.Profile)
	}
	c := cred.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Expires:         aws.ToTime(out.Credentials.Expiration),
		Kind:            cred.KindFederation,
		Source:          "get-federation-token",
	}
	if out.FederatedUser != nil {
		// The federated user's ARN names the partition the console link
		// must use.
		c.RoleARN = aws.ToString(out.FederatedUser.Arn)
		if parts := strings.SplitN(c.RoleARN, ":", 6); len(parts) == 6 {
			c.AccountID = parts[4]
		}
	}
	return c, nil
}
