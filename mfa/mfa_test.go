package mfa

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/ststest"
)

const serial = "arn:aws:iam::111122223333:mfa/alice"

func TestCheckCode(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		ok         bool
	}{
		{"six digits", "012345", true},
		{"five digits", "01234", false},
		{"seven digits", "0123456", false},
		{"a letter", "01234a", false},
		{"spaces", "012 45", false},
		{"a non-ASCII digit", "01234٣", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCode(tc.code)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadCode)) {
				t.Errorf("CheckCode(%q) = %v, want ok=%v", tc.code, err, tc.ok)
			}
		})
	}
}

// keysClient is the SDK's sts client signing with long-term keys.
func keysClient(url string) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIAKEYS", SecretAccessKey: "keys-secret"}, nil
		}),
	})
}

func TestGetSessionToken(t *testing.T) {
	f := ststest.New(t)
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	f.SetClock(clock.NewFake(now))
	f.RequireMFA(serial, "123456", "234567")
	c := keysClient(f.URL)

	for _, tc := range []struct {
		name    string
		code    string
		asked   time.Duration
		wantErr error
		want    time.Duration // session length STS was asked for
	}{
		{"the configured length", "123456", 12 * time.Hour, nil, 12 * time.Hour},
		{"the same code again: refused", "123456", 12 * time.Hour, ErrCodeRefused, 12 * time.Hour},
		{"a wrong code: refused", "999999", 12 * time.Hour, ErrCodeRefused, 12 * time.Hour},
		{"not a code: nothing sent", "12345", 12 * time.Hour, ErrBadCode, 0},
		{"longer than STS allows: 36h", "234567", 48 * time.Hour, nil, 36 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.Calls())
			got, err := GetSessionToken(t.Context(), c, serial, tc.code, tc.asked)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			calls := f.Calls()[before:]
			if tc.want == 0 {
				if len(calls) != 0 {
					t.Fatalf("calls %+v, want none", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("%d calls, want exactly one (never a retry)", len(calls))
			}
			form := calls[0].Form
			if form.Get("SerialNumber") != serial || form.Get("TokenCode") != tc.code || form.Get("DurationSeconds") != fmtSecs(tc.want) {
				t.Errorf("call %v, want serial %s code %s duration %s", form, serial, tc.code, fmtSecs(tc.want))
			}
			if err != nil {
				if strings.Contains(err.Error(), "keys-secret") || !strings.Contains(err.Error(), serial) || !strings.Contains(err.Error(), "MultiFactorAuthentication failed") {
					t.Errorf("error %q: want STS's reason and the device, no secret", err)
				}
				return
			}
			if !f.MFAContext(got.AccessKeyID) || got.Kind != cred.KindSessionToken || !got.Temporary() || !got.Expires.Equal(now.Add(tc.want)) {
				t.Errorf("credentials %v expiring %s, want an MFA session of %s", got, got.Expires, tc.want)
			}
		})
	}
}

func fmtSecs(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
