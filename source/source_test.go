package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/ststest"
)

func staticRetriever(c cred.Credentials) Retriever {
	return RetrieverFunc(func(context.Context) (cred.Credentials, error) { return c, nil })
}

var longTerm = cred.Credentials{AccessKeyID: "AKIALONGTERM0001", SecretAccessKey: "long-term-secret"}

func TestSessionOnlyTurnsLongTermKeysIntoASession(t *testing.T) {
	f := ststest.New(t)
	s := &SessionOnly{Profile: "legacy", Base: staticRetriever(longTerm), STS: awsapi.Config{Region: "us-east-1", Endpoint: f.URL}, Duration: 2 * time.Hour}
	c, err := s.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "ASIAFAKEGETSESSIONTOKEN" || c.SessionToken != "fake-token" || c.Kind != cred.KindSessionToken {
		t.Errorf("got %v", c)
	}
	if got := f.Last().Get("DurationSeconds"); got != "7200" {
		t.Errorf("DurationSeconds = %q, want 7200", got)
	}
	if !strings.Contains(f.Auth()[0], "Credential=AKIALONGTERM0001/") {
		t.Errorf("GetSessionToken not signed with the long-term key: %q", f.Auth()[0])
	}
}

func TestSessionOnlyPassesTemporaryCredentialsThrough(t *testing.T) {
	f := ststest.New(t)
	tmp := cred.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "s", SessionToken: "t"}
	s := &SessionOnly{Base: staticRetriever(tmp), STS: awsapi.Config{Region: "us-east-1", Endpoint: f.URL}}
	c, err := s.Retrieve(t.Context())
	if err != nil || c.AccessKeyID != "ASIATEMP" {
		t.Fatalf("got %v, %v", c, err)
	}
	if len(f.Requests()) != 0 {
		t.Errorf("called STS for credentials that are already temporary")
	}
}

func TestSessionOnlyNeverLeaksKeysWhenSTSRefuses(t *testing.T) {
	f := ststest.New(t)
	f.Fail("InvalidParameterValue")
	s := &SessionOnly{Profile: "legacy", Base: staticRetriever(longTerm), STS: awsapi.Config{Region: "us-east-1", Endpoint: f.URL}}
	c, err := s.Retrieve(t.Context())
	if !errors.Is(err, ErrLongTermKeys) {
		t.Fatalf("err = %v, want ErrLongTermKeys", err)
	}
	if c.AccessKeyID != "" || c.SecretAccessKey != "" {
		t.Errorf("returned credentials alongside the error: %v", c)
	}
	for _, want := range []string{"long-term IAM user keys", "GetSessionToken", "role_arn"} { // the refresher adds the profile name
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q should mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), longTerm.SecretAccessKey) {
		t.Errorf("error leaks the secret")
	}
}

func TestAssumeRoleSendsEveryParameter(t *testing.T) {
	for _, tc := range []struct {
		name         string
		signer       cred.Credentials
		duration     time.Duration
		wantDuration string
		wantKind     cred.Kind
	}{
		{"first hop from long-term keys keeps the duration", longTerm, 4 * time.Hour, "14400", cred.KindRole},
		{"role chaining is capped at one hour", cred.Credentials{AccessKeyID: "ASIAROLE", SecretAccessKey: "s", SessionToken: "t"}, 4 * time.Hour, "3600", cred.KindChainedRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ststest.New(t)
			a := &AssumeRole{
				Profile: "ops", Signer: staticRetriever(tc.signer), STS: awsapi.Config{Region: "us-east-1", Endpoint: f.URL},
				RoleARN: "arn:aws:iam::444455556666:role/ops", SessionName: "alice", ExternalID: "ext-123",
				SourceIdentity: "alice@example.com", Duration: tc.duration,
				Tags: map[string]string{"team": "ops", "Project": "x"}, TransitiveTagKeys: []string{"team"},
			}
			c, err := a.Retrieve(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := f.Last()
			want := map[string]string{
				"Action": "AssumeRole", "RoleArn": a.RoleARN, "RoleSessionName": "alice", "ExternalId": "ext-123",
				"SourceIdentity": "alice@example.com", "DurationSeconds": tc.wantDuration,
				"Tags.member.1.Key": "Project", "Tags.member.1.Value": "x",
				"Tags.member.2.Key": "team", "Tags.member.2.Value": "ops",
				"TransitiveTagKeys.member.1": "team",
			}
			for k, v := range want {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
			if c.AccountID != "444455556666" || c.RoleARN != a.RoleARN || c.Kind != tc.wantKind {
				t.Errorf("credentials = %+v, account %s, kind %s", c, c.AccountID, c.Kind)
			}
			if !strings.Contains(f.Auth()[0], "Credential="+tc.signer.AccessKeyID+"/") {
				t.Errorf("not signed with the source profile's key: %q", f.Auth()[0])
			}
		})
	}
}

func TestAssumeRoleErrorsNameTheProfile(t *testing.T) {
	f := ststest.New(t)
	f.Fail("AccessDenied")
	a := &AssumeRole{Profile: "ops", Signer: staticRetriever(longTerm), STS: awsapi.Config{Region: "us-east-1", Endpoint: f.URL}, RoleARN: "arn:aws:iam::1:role/x", SessionName: "s1", Duration: time.Hour}
	_, err := a.Retrieve(t.Context())
	if err == nil || !strings.Contains(err.Error(), "profile ops") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v", err)
	}
	a.Signer = RetrieverFunc(func(context.Context) (cred.Credentials, error) { return cred.Credentials{}, errors.New("source down") })
	if _, err := a.Retrieve(t.Context()); err == nil || !strings.Contains(err.Error(), "source credentials for profile ops: source down") {
		t.Errorf("err = %v", err)
	}
}

func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{`CORP\alice`, "alice"},
		{"alice smith", "alice-smith"},
		{"jörg", "j-rg"},
		{"a", "credd-a"},
		{"", "credd-"},
		{"alice@example.com", "alice@example.com"},
		{strings.Repeat("x", 80), strings.Repeat("x", 64)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := SessionName(tc.in); got != tc.want {
				t.Errorf("SessionName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestAWSProfileResolvesThroughTheSDK(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("[profile keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = s\nregion = eu-central-1\n[profile empty]\nregion = us-east-1\n"), 0o600)
	p := &AWSProfile{Name: "keys", ConfigFiles: []string{cfg}, CredentialFiles: []string{filepath.Join(dir, "none")}}
	c, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "AKIAKEYS" || c.Kind != cred.KindLongTermIAMKey || c.Temporary() {
		t.Errorf("got %v kind %s", c, c.Kind)
	}
	ac, _ := p.Config(t.Context())
	if ac.Region != "eu-central-1" {
		t.Errorf("region %q", ac.Region)
	}
	missing := &AWSProfile{Name: "nope", ConfigFiles: []string{cfg}, CredentialFiles: []string{filepath.Join(dir, "none")}}
	if _, err := missing.Retrieve(t.Context()); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing profile: %v", err)
	}
}

// TestRoleCredentials: an sts:AssumeRole* answer is credd credentials of
// the role, in the account the assumed role's ARN names, else the role's.
func TestRoleCredentials(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &ststypes.Credentials{AccessKeyId: aws.String("ASIA1"), SecretAccessKey: aws.String("s"), SessionToken: aws.String("t"), Expiration: &exp}
	const role = "arn:aws:iam::111122223333:role/app"
	for _, tc := range []struct {
		name string
		user *ststypes.AssumedRoleUser
		want string
	}{
		{"the assumed role's account", &ststypes.AssumedRoleUser{Arn: aws.String("arn:aws:sts::444455556666:assumed-role/app/alice")}, "444455556666"},
		{"no assumed role user: the role's account", nil, "111122223333"},
		{"an assumed role ARN without an account: the role's", &ststypes.AssumedRoleUser{Arn: aws.String("nonsense")}, "111122223333"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := roleCredentials(c, tc.user, role, cred.KindRole, "web-identity")
			if got.AccountID != tc.want || got.RoleARN != role || got.AccessKeyID != "ASIA1" || got.SecretAccessKey != "s" || got.SessionToken != "t" ||
				!got.Expires.Equal(exp) || got.Kind != cred.KindRole || got.Source != "web-identity" {
				t.Errorf("roleCredentials = %+v, want account %s of role %s", got, tc.want, role)
			}
		})
	}
}
