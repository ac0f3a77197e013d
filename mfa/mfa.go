// Package mfa owns what MFA sessions of IAM user keys need: the code of an
// MFA device (typed by the user, or printed by an mfa_process command) and
// the sts:GetSessionToken call that trades the long-term keys, the
// device's serial number and one code for a session that carries MFA.
//
// A code is used once. Nothing here retries a call with the same code: a
// code STS refuses is gone, and repeated refusals lock accounts out.
package mfa

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credd/credd/cred"
)

// CodeLen is the length of the codes of every MFA device STS accepts
// (virtual, hardware TOTP).
const CodeLen = 6

// ErrBadCode: the text is not an MFA code (six digits). Nothing was sent
// to STS. Its errors are of kind cred.ErrInvalid.
var ErrBadCode = errors.New("an MFA code is 6 digits")

// ErrCodeRefused: STS refused the code (wrong, already used, or not of
// this device). The code is gone; only a new one helps: its errors are of
// kind cred.ErrMFARequired.
var ErrCodeRefused = errors.New("STS refused the MFA code")

// CheckCode reports whether code is six digits, so a typo never reaches
// STS (where it would count as a failed attempt).
func CheckCode(code string) error {
	if len(code) != CodeLen {
		return cred.Errorf(cred.ErrInvalid, "%w, got %d characters", ErrBadCode, len(code))
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return cred.Errorf(cred.ErrInvalid, "%w, got a character that is not a digit", ErrBadCode)
		}
	}
	return nil
}

// SessionTokenGetter is the STS call an MFA session needs.
type SessionTokenGetter interface {
	GetSessionToken(ctx context.Context, in *sts.GetSessionTokenInput, optFns ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error)
}

// Session limits of GetSessionToken for IAM users.
const (
	MinDuration = 15 * time.Minute
	MaxDuration = 36 * time.Hour
)

// GetSessionToken calls sts:GetSessionToken on client (signed with the
// long-term keys) with the device's serial number, one code, and the
// session's length (clamped to STS's 15m..36h). The code is checked
// before anything is sent, and the call is made once, never retried. An error wrapping ErrCodeRefused means STS
// refused the code.
func GetSessionToken(ctx context.Context, client SessionTokenGetter, serial, code string, d time.Duration) (cred.Credentials, error) {
	if err := CheckCode(code); err != nil {
		return cred.Credentials{}, err
	}
	secs := int32(max(MinDuration, min(d, MaxDuration)) / time.Second)
	out, err := client.GetSessionToken(ctx, &sts.GetSessionTokenInput{
		SerialNumber:    aws.String(serial),
		TokenCode:       aws.String(code),
		DurationSeconds: aws.Int32(secs),
	}, func(o *sts.Options) {
		// A retried call would send the same code again: STS refuses a
		// code used before, and repeated refusals lock accounts out.
		o.Retryer = aws.NopRetryer{}
	})
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "AccessDenied":
		return cred.Credentials{}, cred.Errorf(cred.ErrMFARequired, "%w for %s: %s", ErrCodeRefused, serial, api.ErrorMessage())
	case err != nil:
		return cred.Credentials{}, fmt.Errorf("sts:GetSessionToken with MFA device %s: %w", serial, err)
	case out.Credentials == nil:
		return cred.Credentials{}, fmt.Errorf("sts:GetSessionToken with MFA device %s returned no credentials", serial)
	}
	c := out.Credentials
	return cred.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Expires:         aws.ToTime(c.Expiration),
		Kind:            cred.KindSessionToken,
		Source:          "mfa-session",
	}, nil
}
