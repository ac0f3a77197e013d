// Package source fetches credentials from upstream: the AWS SDK's own
// resolution of ~/.aws/config profiles, and sts:AssumeRole between credd
// profiles. Each source is a refresh.Source; the refresher decides when to
// call it.
package source

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credd/credd/cred"
)

// Retriever is what sources take as their own upstream: another source, or
// a refresher's cache (so a chain refreshes each hop once).
type Retriever interface {
	Retrieve(ctx context.Context) (cred.Credentials, error)
}

// fromSTS converts STS's credential shape.
func fromSTS(c *ststypes.Credentials, kind cred.Kind, src string) cred.Credentials {
	return cred.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Expires:         aws.ToTime(c.Expiration),
		Kind:            kind,
		Source:          src,
	}
}

// roleCredentials converts the credentials of an sts:AssumeRole* answer
// for role: its ARN, and the account the assumed role's ARN names (else
// role's own).
func roleCredentials(c *ststypes.Credentials, user *ststypes.AssumedRoleUser, role string, kind cred.Kind, src string) cred.Credentials {
	out := fromSTS(c, kind, src)
	out.RoleARN = role
	out.AccountID = AccountFromARN(role)
	if user != nil {
		if acct := AccountFromARN(aws.ToString(user.Arn)); acct != "" {
			out.AccountID = acct
		}
	}
	return out
}

// AccountFromARN returns the account field of an ARN, or "".
func AccountFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// SessionName makes a valid RoleSessionName (2..64 of [\w+=,.@-]) from
// any text, such as a user name or an e-mail claim.
func SessionName(s string) string { return STSName(s, 64) }

// STSName makes a name of STS's alphabet [\w+=,.@-] with 2..max
// characters from any text: other characters become '-', a Windows
// DOMAIN\ prefix is dropped, and a name too short is prefixed "credd-".
func STSName(s string, max int) string {
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune("_+=,.@-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	if len(out) < 2 {
		out = "credd-" + out
	}
	return out
}

// durationSeconds clamps a session length to STS's range.
func durationSeconds(d time.Duration) *int32 {
	s := int32(d / time.Second)
	return aws.Int32(max(900, min(s, 43200)))
}
