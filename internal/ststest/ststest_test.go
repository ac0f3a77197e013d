package ststest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credd/credd/clock"
)

const serial = "arn:aws:iam::111122223333:mfa/alice"

// client is the SDK's own sts client, signing with key: it is the judge of
// the fake's wire format.
func client(url, key string) *sts.Client {
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: "secret"}
	if strings.HasPrefix(key, "ASIA") {
		creds.SessionToken = "token"
	}
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
	})
}

func apiCode(t *testing.T, err error) (string, string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("error %v is not an STS API error", err)
	}
	return api.ErrorCode(), api.ErrorMessage()
}

// TestGetSessionTokenWithMFA: the SDK's client reads the fake's answers
// and refusals; a code is accepted once and only for the registered
// device; the session lasts the DurationSeconds asked, dated by the fake's
// clock; every call is recorded with its signer.
func TestGetSessionTokenWithMFA(t *testing.T) {
	f := New(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f.SetClock(clock.NewFake(now))
	f.RequireMFA(serial, "123456", "654321")
	c := client(f.URL, "AKIAKEYS")
	ctx := t.Context()
	in := func(serial, code string, secs int32) *sts.GetSessionTokenInput {
		return &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code), DurationSeconds: aws.Int32(secs)}
	}

	out, err := c.GetSessionToken(ctx, in(serial, "123456", 36*3600))
	if err != nil {
		t.Fatal(err)
	}
	key := aws.ToString(out.Credentials.AccessKeyId)
	if !strings.HasPrefix(key, "ASIAMFA") || !f.MFAContext(key) {
		t.Errorf("MFA session key %q: want an ASIAMFA key the fake knows as MFA", key)
	}
	if got, want := aws.ToTime(out.Credentials.Expiration), now.Add(36*time.Hour); !got.Equal(want) {
		t.Errorf("expiration %s, want %s (the fake clock + 36h)", got, want)
	}

	for _, tc := range []struct {
		name, serial, code string
		secs               int32
		wantCode, wantMsg  string
	}{
		{"the same code again", serial, "123456", 3600, "AccessDenied", "already used"},
		{"a wrong code", serial, "111111", 3600, "AccessDenied", "invalid MFA one time pass code"},
		{"another device", "arn:aws:iam::111122223333:mfa/bob", "654321", 3600, "AccessDenied", "unable to validate MFA code"},
		{"not six digits", serial, "12345a", 3600, "ValidationError", "tokenCode"},
		{"longer than 36h", serial, "654321", 36*3600 + 1, "ValidationError", "less than or equal to 129600"},
		{"shorter than 15m", serial, "654321", 899, "ValidationError", "greater than or equal to 900"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetSessionToken(ctx, in(tc.serial, tc.code, tc.secs))
			code, msg := apiCode(t, err)
			if code != tc.wantCode || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("got %s %q, want %s containing %q", code, msg, tc.wantCode, tc.wantMsg)
			}
		})
	}
	// The refusals used up no code: 654321 is still good.
	if _, err := c.GetSessionToken(ctx, in(serial, "654321", 3600)); err != nil {
		t.Errorf("the second code after refusals: %v", err)
	}

	t.Run("session credentials cannot call GetSessionToken", func(t *testing.T) {
		_, err := client(f.URL, key).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
		if code, _ := apiCode(t, err); code != "AccessDenied" {
			t.Errorf("got %s, want AccessDenied", code)
		}
	})

	t.Run("without a code: a session without MFA, recorded as such", func(t *testing.T) {
		out, err := c.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		k := aws.ToString(out.Credentials.AccessKeyId)
		if k != "ASIAFAKEGETSESSIONTOKEN" || f.MFAContext(k) {
			t.Errorf("key %q (MFA %v), want ASIAFAKEGETSESSIONTOKEN without MFA", k, f.MFAContext(k))
		}
		if got, want := aws.ToTime(out.Credentials.Expiration), now.Add(12*time.Hour); !got.Equal(want) {
			t.Errorf("expiration %s, want STS's default 12h: %s", got, want)
		}
	})

	calls := f.CallsOf("GetSessionToken")
	if len(calls) != 10 {
		t.Fatalf("%d GetSessionToken calls recorded, want 10", len(calls))
	}
	first := calls[0]
	if first.AccessKeyID != "AKIAKEYS" || !first.MFA || first.Error != "" || first.Issued != key ||
		first.Form.Get("SerialNumber") != serial || first.Form.Get("TokenCode") != "123456" || first.Form.Get("DurationSeconds") != "129600" {
		t.Errorf("first call recorded as %+v", first)
	}
	if c := calls[1]; c.MFA || c.Error != "AccessDenied" || c.Issued != "" {
		t.Errorf("the reused code recorded as %+v", c)
	}
	if c := calls[len(calls)-1]; c.MFA || c.Form.Get("TokenCode") != "" {
		t.Errorf("the call without a code recorded as %+v", c)
	}
}

// TestAssumeRoleFromAnMFASession: a role assumed with an MFA session's
// credentials carries MFA on, and like any AssumeRole signed with
// temporary credentials lasts at most an hour.
func TestAssumeRoleFromAnMFASession(t *testing.T) {
	f := New(t)
	f.RequireMFA(serial, "123456")
	ctx := t.Context()
	out, err := client(f.URL, "AKIAKEYS").GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String("123456")})
	if err != nil {
		t.Fatal(err)
	}
	session := client(f.URL, aws.ToString(out.Credentials.AccessKeyId))
	role := func(secs int32) *sts.AssumeRoleInput {
		return &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/admin"), RoleSessionName: aws.String("alice"), DurationSeconds: aws.Int32(secs)}
	}
	_, err = session.AssumeRole(ctx, role(7200))
	if code, msg := apiCode(t, err); code != "ValidationError" || !strings.Contains(msg, "1 hour session limit") {
		t.Errorf("2h role from a session: %s %q, want the role chaining limit", code, msg)
	}
	r, err := session.AssumeRole(ctx, role(3600))
	if err != nil {
		t.Fatal(err)
	}
	if k := aws.ToString(r.Credentials.AccessKeyId); !f.MFAContext(k) {
		t.Errorf("role key %q is not in the MFA context", k)
	}
	if arn := aws.ToString(r.AssumedRoleUser.Arn); arn != "arn:aws:sts::111122223333:assumed-role/admin/alice" {
		t.Errorf("assumed role ARN %q", arn)
	}
	// Long-term keys may ask for 12 hours, and get no MFA.
	plain, err := client(f.URL, "AKIAKEYS").AssumeRole(ctx, role(43200))
	if err != nil {
		t.Fatal(err)
	}
	if k := aws.ToString(plain.Credentials.AccessKeyId); k != "ASIAFAKEASSUMEROLE" || f.MFAContext(k) {
		t.Errorf("role from the keys: %q (MFA %v)", k, f.MFAContext(k))
	}
	calls := f.CallsOf("AssumeRole")
	if len(calls) != 3 || !calls[1].MFA || calls[1].AccessKeyID != aws.ToString(out.Credentials.AccessKeyId) || calls[2].MFA {
		t.Errorf("AssumeRole calls recorded as %+v", calls)
	}
}
