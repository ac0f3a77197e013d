package iamtest

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// TestSDKParsesEveryAnswer proves the fake's wire format with the AWS
// SDK's own iam and sts clients.
func TestSDKParsesEveryAnswer(t *testing.T) {
	s := New(t)
	k := s.AddKey("jane")
	creds := credentials.NewStaticCredentialsProvider(k.ID, k.Secret, "")
	iamc := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), Credentials: creds, RetryMaxAttempts: 1})
	stsc := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), Credentials: creds, RetryMaxAttempts: 1})
	ctx := t.Context()

	id, err := stsc.GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::111122223333:user/jane" || aws.ToString(id.Account) != "111122223333" {
		t.Fatalf("GetCallerIdentity = %+v, %v", id, err)
	}
	created, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err != nil || aws.ToString(created.AccessKey.UserName) != "jane" || aws.ToString(created.AccessKey.SecretAccessKey) == "" || created.AccessKey.Status != "Active" {
		t.Fatalf("CreateAccessKey = %+v, %v", created, err)
	}
	list, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil || len(list.AccessKeyMetadata) != 2 || list.IsTruncated {
		t.Fatalf("ListAccessKeys = %+v, %v", list, err)
	}
	if m := list.AccessKeyMetadata[0]; aws.ToString(m.AccessKeyId) != k.ID || aws.ToTime(m.CreateDate).IsZero() || m.Status != "Active" {
		t.Errorf("first key %+v", m)
	}
	if _, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{}); !isCode(err, "LimitExceeded") {
		t.Errorf("a third key: %v, want LimitExceeded", err)
	}
	if _, err := iamc.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: created.AccessKey.AccessKeyId}); err != nil {
		t.Fatalf("DeleteAccessKey: %v", err)
	}
	if _, err := iamc.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: created.AccessKey.AccessKeyId}); !isCode(err, "NoSuchEntity") {
		t.Errorf("deleting twice: %v, want NoSuchEntity", err)
	}
	// A deleted key signs nothing; neither does one still propagating.
	gone := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(created.AccessKey.AccessKeyId), "x", "")})
	if _, err := gone.GetCallerIdentity(ctx, nil); !isCode(err, "InvalidClientTokenId") {
		t.Errorf("deleted key: %v, want InvalidClientTokenId", err)
	}
	s.Propagation(1)
	fresh, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	newc := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(fresh.AccessKey.AccessKeyId), aws.ToString(fresh.AccessKey.SecretAccessKey), "")})
	if _, err := newc.GetCallerIdentity(ctx, nil); !isCode(err, "InvalidClientTokenId") {
		t.Errorf("propagating key, first call: %v, want InvalidClientTokenId", err)
	}
	if _, err := newc.GetCallerIdentity(ctx, nil); err != nil {
		t.Errorf("propagating key, second call: %v", err)
	}
	s.Fail("ListAccessKeys", "AccessDenied", 403, 1)
	if _, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); !isCode(err, "AccessDenied") {
		t.Errorf("injected failure: %v", err)
	}
	if _, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); err != nil {
		t.Errorf("after the injected failure: %v", err)
	}
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
