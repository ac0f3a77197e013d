package main

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestFaultySTSSpeaksSTS: the AWS SDK's own STS client reads the soak's
// fake: credentials with the lifetime drawn, and each failure as the
// error (retryable or throttling) a real STS would give.
func TestFaultySTSSpeaksSTS(t *testing.T) {
	f, err := startFaultySTS(soakOptions{fetchTimeout: time.Second, seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIASOAKTEST", "secret", "")})
	assume := func() (*sts.AssumeRoleOutput, error) {
		return client.AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/role00"), RoleSessionName: aws.String("soak")})
	}
	for _, tc := range []struct {
		name      string
		kind      int
		retryable bool
		throttle  bool
	}{
		{"credentials", faultNone, false, false},
		{"5xx", fault5xx, true, false},
		{"throttling", faultThrottle, true, true},
		{"reset", faultReset, true, false},
		{"slow", faultSlow, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.pick = func() (int, time.Duration, time.Duration) { return tc.kind, 10 * time.Millisecond, 90 * time.Second }
			f.mu.Unlock()
			start := time.Now()
			out, err := assume()
			if tc.kind == faultNone || tc.kind == faultSlow {
				if err != nil {
					t.Fatal(err)
				}
				key := aws.ToString(out.Credentials.AccessKeyId)
				if life := aws.ToTime(out.Credentials.Expiration).Sub(start); !f.knows(key) || life < 88*time.Second || life > 91*time.Second {
					t.Errorf("credentials %s living %s, want a key the fake issued, living 90 s", key, life)
				}
				if got := f.delivered("role00"); !got.Equal(aws.ToTime(out.Credentials.Expiration)) {
					t.Errorf("delivered expiry %s, want %s", got, aws.ToTime(out.Credentials.Expiration))
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err); got.Bool() != tc.retryable {
				t.Errorf("retryable %v, want %v: %v", got, tc.retryable, err)
			}
			var ae smithy.APIError
			if tc.throttle != (errors.As(err, &ae) && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()) {
				t.Errorf("throttling %v, want %v: %v", !tc.throttle, tc.throttle, err)
			}
			var ne net.Error
			if tc.kind == faultReset && !errors.As(err, &ne) && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
				t.Errorf("a reset reads as %v", err)
			}
		})
	}
}
