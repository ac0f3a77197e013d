package source

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/clock"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/internal/ssotest"
)

type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) AccessToken(ctx context.Context) (string, error) { return f(ctx) }

// rejecting records the tokens SSORole reports refused.
type rejecting struct {
	tokenFunc
	rejected []string
}

func (r *rejecting) Rejected(_ context.Context, tok string) { r.rejected = append(r.rejected, tok) }

func TestSSORoleReportsRefusedTokens(t *testing.T) {
	f := ssotest.New(t, ssotest.Options{})
	f.Accept("good")
	for _, tc := range []struct {
		name, token string
		want        []string
	}{
		{"accepted", "good", nil},
		{"refused", "revoked", []string{"revoked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &rejecting{tokenFunc: func(context.Context) (string, error) { return tc.token, nil }}
			s := &SSORole{Profile: "dev", Session: "corp", AccountID: "111122223333", RoleName: "Developer", Tokens: r,
				Portal: awsapi.Config{Region: "eu-west-1", Endpoint: f.URL}}
			_, _ = s.Retrieve(t.Context())
			if strings.Join(r.rejected, ",") != strings.Join(tc.want, ",") {
				t.Errorf("rejected %q, want %q", r.rejected, tc.want)
			}
		})
	}
}

func TestSSORole(t *testing.T) {
	const account, role = "111122223333", "Developer"
	signedOut := errors.New("login required: not signed in: run `credd login --sso-session corp`")
	for _, tc := range []struct {
		name      string
		token     string
		tokenErr  error
		throttle  int
		role      string
		wantLogin bool
		wantErr   []string
	}{
		{name: "credentials", token: "good", role: role},
		{name: "session refused by the portal", token: "revoked", role: role, wantLogin: true,
			wantErr: []string{"credd login --sso-session corp", "UnauthorizedException", "profile dev", "111122223333/Developer"}},
		{name: "throttled: a plain error, retried with backoff", token: "good", role: role, throttle: 10,
			wantErr: []string{"throttling", "TooManyRequestsException"}},
		{name: "role not assigned", token: "good", role: "Admin", wantErr: []string{"not assigned role Admin", "ForbiddenException"}},
		{name: "session not signed in", tokenErr: signedOut, role: role, wantErr: []string{"sso session corp", "credd login --sso-session corp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ssotest.New(t, ssotest.Options{RoleTTL: time.Hour + 7*time.Minute + 13*time.Second,
				Accounts: []ssotest.Account{{ID: account, Name: "dev", Roles: []string{role}}}})
			f.Accept("good")
			f.Throttle(tc.throttle)
			s := &SSORole{
				Profile: "dev", Session: "corp", AccountID: account, RoleName: tc.role, LoginHint: "credd login --sso-session corp",
				// No SDK retries: throttling is the refresher's to back off from.
				Client: sso.New(sso.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.URL), Retryer: aws.NopRetryer{}}),
				Tokens: tokenFunc(func(context.Context) (string, error) { return tc.token, tc.tokenErr }),
			}
			before := time.Now()
			c, err := s.Retrieve(t.Context())
			if len(tc.wantErr) == 0 {
				key, secret, token := ssotest.RoleCredentials(account, role)
				if err != nil || c.AccessKeyID != key || c.SecretAccessKey != secret || c.SessionToken != token || c.AccountID != account || c.Kind != cred.KindRole {
					t.Fatalf("got %v, %v", c, err)
				}
				// Epoch milliseconds: a seconds/milliseconds mix-up would be decades off.
				if want := before.Add(time.Hour + 7*time.Minute + 13*time.Second); c.Expires.Before(want.Add(-2*time.Second)) || c.Expires.After(want.Add(time.Second)) {
					t.Errorf("expires %v, want about %v", c.Expires, want)
				}
				if calls := f.PortalCalls(); len(calls) != 1 || calls[0] != (ssotest.PortalCall{Bearer: "good", AccountID: account, RoleName: role}) {
					t.Errorf("portal calls %+v", calls)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v, want an error", c)
			}
			if errors.Is(err, cred.ErrLoginRequired) != tc.wantLogin && tc.tokenErr == nil {
				t.Errorf("err = %v: login-required %v, want %v", err, !tc.wantLogin, tc.wantLogin)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), tc.token) && tc.token != "" {
				t.Errorf("the access token is in the error: %v", err)
			}
		})
	}
}

func TestSSORoleSaysWhenTheClockIsOff(t *testing.T) {
	f := ssotest.New(t, ssotest.Options{})
	f.Accept("good")
	s := &SSORole{Profile: "dev", Session: "corp", AccountID: "111122223333", RoleName: "Developer",
		Portal: awsapi.Config{Region: "eu-west-1", Endpoint: f.URL},
		Tokens: tokenFunc(func(context.Context) (string, error) { return "good", nil }),
		Clock:  clock.NewFake(time.Now().Add(3 * time.Hour)), // three hours fast
	}
	_, err := s.Retrieve(t.Context())
	if err == nil || !strings.Contains(err.Error(), "is the clock wrong?") {
		t.Errorf("err = %v, want it to suspect the clock", err)
	}
}
