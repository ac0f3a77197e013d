package source

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/awsapi"
	"github.com/credd/credd/internal/ststest"
)

// idTokens is a signed-in session that hands out one token and its claims.
type idTokens struct {
	raw    string
	claims map[string]any
	err    error
}

func (s idTokens) IDToken(context.Context) (string, map[string]any, error) {
	return s.raw, s.claims, s.err
}

// STS's alphabet and length for RoleSessionName.
var reRoleSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func TestWebIdentitySendsSessionNameDurationAndRole(t *testing.T) {
	long := strings.Repeat("a", 50) + "." + strings.Repeat("b", 50) + "@example.com"
	for _, tc := range []struct {
		name     string
		claims   map[string]any
		claim    string // session_name_claim
		roleARN  string
		duration time.Duration
		wantName string
		wantDur  string
	}{
		{
			name:    "email present: email, not sub",
			claims:  map[string]any{"email": "ada@example.com", "sub": "user-1"},
			roleARN: "arn:aws:iam::111122223333:role/app", duration: time.Hour,
			wantName: "ada@example.com", wantDur: "3600",
		},
		{
			name:    "no email: sub",
			claims:  map[string]any{"sub": "00u1abcd", "name": "Ada"},
			roleARN: "arn:aws:iam::444455556666:role/data", duration: 4 * time.Hour,
			wantName: "00u1abcd", wantDur: "14400",
		},
		{
			name:    "empty email: sub",
			claims:  map[string]any{"email": "", "sub": "00u1abcd"},
			roleARN: "arn:aws:iam::111122223333:role/app", duration: 2 * time.Hour,
			wantName: "00u1abcd", wantDur: "7200",
		},
		{
			name:   "custom claim wins over email",
			claims: map[string]any{"email": "ada@example.com", "sub": "user-1", "preferred_username": "ada.lovelace"},
			claim:  "preferred_username", roleARN: "arn:aws:iam::111122223333:role/app", duration: 12 * time.Hour,
			wantName: "ada.lovelace", wantDur: "43200",
		},
		{
			name:   "characters STS rejects become -",
			claims: map[string]any{"email": "ada@example.com", "name": "Jörg Müller (ops)"},
			claim:  "name", roleARN: "arn:aws:iam::111122223333:role/app", duration: 90 * time.Minute,
			wantName: "J-rg-M-ller--ops-", wantDur: "5400",
		},
		{
			name:    "spaces and slashes in an email-like claim",
			claims:  map[string]any{"email": "ada lovelace/ops@example.com"},
			roleARN: "arn:aws-us-gov:iam::111122223333:role/gov", duration: time.Hour,
			wantName: "ada-lovelace-ops@example.com", wantDur: "3600",
		},
		{
			name:    "a very long claim is cut to 64",
			claims:  map[string]any{"email": long},
			roleARN: "arn:aws:iam::111122223333:role/app", duration: time.Hour,
			wantName: long[:64], wantDur: "3600",
		},
		{
			name:    "a one-character claim is made long enough",
			claims:  map[string]any{"sub": "7"},
			roleARN: "arn:aws:iam::111122223333:role/app", duration: time.Hour,
			wantName: "credd-7", wantDur: "3600",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ststest.New(t)
			w := &WebIdentity{
				Profile: "app", Provider: "okta", LoginHint: "credd login --provider okta",
				Tokens:           idTokens{raw: "header.payload.signature", claims: tc.claims},
				STS:              awsapi.Config{Region: "us-east-1", Endpoint: f.URL},
				RoleARN:          tc.roleARN,
				SessionNameClaim: tc.claim,
				Duration:         tc.duration,
			}
			c, err := w.Retrieve(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n := len(f.Requests()); n != 1 {
				t.Fatalf("%d STS calls, want 1", n)
			}
			got := f.Last()
			want := map[string]string{
				"Action": "AssumeRoleWithWebIdentity", "RoleArn": tc.roleARN, "RoleSessionName": tc.wantName,
				"DurationSeconds": tc.wantDur, "WebIdentityToken": "header.payload.signature",
			}
			for k, v := range want {
				if got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
			if name := got.Get("RoleSessionName"); !reRoleSessionName.MatchString(name) {
				t.Errorf("RoleSessionName %q is outside STS's [\\w+=,.@-]{2,64}", name)
			}
			if a := f.Auth()[0]; a != "" {
				t.Errorf("AssumeRoleWithWebIdentity was signed (%q): it takes no credentials", a)
			}
			if c.RoleARN != tc.roleARN || c.AccessKeyID != "ASIAFAKEASSUMEROLEWITHWEBIDENTITY" {
				t.Errorf("credentials %s for %s", c.AccessKeyID, c.RoleARN)
			}
		})
	}
}

func TestWebIdentityWithoutTheClaimCallsNoSTS(t *testing.T) {
	for _, tc := range []struct {
		name, claim, wantInErr string
		claims                 map[string]any
		tokenErr               error
	}{
		{name: "no email, no sub", claims: map[string]any{"name": "Ada"}, wantInErr: `no "email" claim`},
		{name: "custom claim missing (no fallback to email)", claim: "upn", claims: map[string]any{"email": "ada@example.com"}, wantInErr: `no "upn" claim`},
		{name: "custom claim not a string", claim: "groups", claims: map[string]any{"groups": []any{"a"}}, wantInErr: `no "groups" claim`},
		{name: "signed out", tokenErr: errors.New("sign-in required"), wantInErr: "identity provider okta: sign-in required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ststest.New(t)
			w := &WebIdentity{
				Profile: "app", Provider: "okta", Tokens: idTokens{raw: "t", claims: tc.claims, err: tc.tokenErr},
				STS: awsapi.Config{Region: "us-east-1", Endpoint: f.URL}, RoleARN: "arn:aws:iam::111122223333:role/app",
				SessionNameClaim: tc.claim, Duration: time.Hour,
			}
			_, err := w.Retrieve(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantInErr)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d STS calls, want none", n)
			}
		})
	}
}
