package ssotest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"

	"github.com/credd/credd/internal/ssotest"
)

func clients(f *ssotest.Server) (*ssooidc.Client, *sso.Client) {
	o := ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.URL), Retryer: aws.NopRetryer{}})
	p := sso.New(sso.Options{Region: "eu-west-1", BaseEndpoint: aws.String(f.URL), Retryer: aws.NopRetryer{}})
	return o, p
}

// TestSDKAuthorizationCode: register, authorize (by following the
// redirect), CreateToken with the verifier, refresh, then the portal.
func TestSDKAuthorizationCode(t *testing.T) {
	f := ssotest.New(t, ssotest.Options{Accounts: []ssotest.Account{{ID: "111122223333", Name: "dev", Roles: []string{"Developer"}}}})
	oc, pc := clients(f)
	ctx := t.Context()
	reg, err := oc.RegisterClient(ctx, &ssooidc.RegisterClientInput{
		ClientName: aws.String("credd"), ClientType: aws.String("public"), Scopes: []string{"sso:account:access"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
		IssuerUrl: aws.String("https://corp.awsapps.com/start"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(reg.ClientId) == "" || !strings.HasPrefix(aws.ToString(reg.ClientSecret), ssotest.PrefixSecret) ||
		time.Unix(reg.ClientSecretExpiresAt, 0).Before(time.Now().Add(89*24*time.Hour)) {
		t.Fatalf("registration = %+v", reg)
	}
	verifier := strings.Repeat("v", 64)
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://127.0.0.1:4567/oauth/callback"
	q := url.Values{"response_type": {"code"}, "client_id": {*reg.ClientId}, "redirect_uri": {redirect}, "state": {"st"},
		"code_challenge_method": {"S256"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "scopes": {"sso:account:access"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(f.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "127.0.0.1:4567" || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, loc)
	}
	code := loc.Query().Get("code")

	for _, tc := range []struct {
		name     string
		verifier string
		wantType any
	}{
		{"wrong verifier", strings.Repeat("w", 64), &oidctypes.InvalidGrantException{}},
		{"code used up", verifier, &oidctypes.InvalidGrantException{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
				GrantType: aws.String("authorization_code"), Code: aws.String(code), CodeVerifier: aws.String(tc.verifier), RedirectUri: aws.String(redirect)})
			var ig *oidctypes.InvalidGrantException
			if !errors.As(err, &ig) || aws.ToString(ig.Error_) != "invalid_grant" {
				t.Errorf("err = %v, want InvalidGrantException", err)
			}
		})
	}

	// A fresh code, the right verifier.
	resp, err = noFollow.Get(f.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	tok, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("authorization_code"), Code: aws.String(loc.Query().Get("code")), CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(tok.AccessToken), ssotest.PrefixAccess) || !strings.HasPrefix(aws.ToString(tok.RefreshToken), ssotest.PrefixRefresh) || tok.ExpiresIn != 3600 {
		t.Fatalf("token = %+v", tok)
	}
	ref, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken})
	if err != nil || aws.ToString(ref.RefreshToken) == aws.ToString(tok.RefreshToken) {
		t.Fatalf("refresh: %v %+v", err, ref)
	}
	_, err = oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken})
	if ig := (*oidctypes.InvalidGrantException)(nil); !errors.As(err, &ig) {
		t.Errorf("reused refresh token: %v, want InvalidGrantException", err)
	}

	rc, err := pc.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: ref.AccessToken, AccountId: aws.String("111122223333"), RoleName: aws.String("Developer")})
	if err != nil {
		t.Fatal(err)
	}
	key, secret, session := ssotest.RoleCredentials("111122223333", "Developer")
	c := rc.RoleCredentials
	exp := time.UnixMilli(c.Expiration)
	if aws.ToString(c.AccessKeyId) != key || aws.ToString(c.SecretAccessKey) != secret || aws.ToString(c.SessionToken) != session ||
		exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("role credentials = %+v (expires %v)", c, exp)
	}

	f.Throttle(1)
	_, err = pc.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: ref.AccessToken, AccountId: aws.String("111122223333"), RoleName: aws.String("Developer")})
	if te := (*ssotypes.TooManyRequestsException)(nil); !errors.As(err, &te) {
		t.Errorf("throttled: %v", err)
	}
	if _, err := pc.Logout(ctx, &sso.LogoutInput{AccessToken: ref.AccessToken}); err != nil {
		t.Fatal(err)
	}
	_, err = pc.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: ref.AccessToken, AccountId: aws.String("111122223333"), RoleName: aws.String("Developer")})
	if ue := (*ssotypes.UnauthorizedException)(nil); !errors.As(err, &ue) {
		t.Errorf("after logout: %v, want UnauthorizedException", err)
	}
	for op, want := range map[string]int{"RegisterClient": 1, "Authorize": 2, "CreateToken/authorization_code": 3, "CreateToken/refresh_token": 2, "GetRoleCredentials": 3, "Logout": 1} {
		if got := f.Calls(op); got != want {
			t.Errorf("%s called %d times, want %d", op, got, want)
		}
	}
}

func TestSDKDeviceFlow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      ssotest.Options
		expire bool
		want   []string // error types of the polls before success ("" = success)
	}{
		{"approved at once", ssotest.Options{}, false, []string{""}},
		{"pending then approved", ssotest.Options{PendingPolls: 2}, false, []string{"AuthorizationPendingException", "AuthorizationPendingException", ""}},
		{"slow down", ssotest.Options{SlowDown: true}, false, []string{"SlowDownException", ""}},
		{"expired", ssotest.Options{PendingPolls: 5}, true, []string{"ExpiredTokenException"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ssotest.New(t, tc.o)
			oc, _ := clients(f)
			reg, err := oc.RegisterClient(t.Context(), &ssooidc.RegisterClientInput{ClientName: aws.String("credd"), ClientType: aws.String("public"),
				GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}})
			if err != nil {
				t.Fatal(err)
			}
			da, err := oc.StartDeviceAuthorization(t.Context(), &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String("https://corp.awsapps.com/start")})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(da.UserCode) == "" || da.Interval != 1 || da.ExpiresIn != 600 || !strings.Contains(aws.ToString(da.VerificationUriComplete), aws.ToString(da.UserCode)) {
				t.Fatalf("device authorization = %+v", da)
			}
			if tc.expire {
				f.ExpireDevices()
			}
			for i, want := range tc.want {
				tok, err := oc.CreateToken(t.Context(), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
					GrantType: aws.String(ssotest.GrantDeviceCode), DeviceCode: da.DeviceCode})
				got := ""
				var ae interface{ ErrorCode() string }
				if errors.As(err, &ae) {
					got = ae.ErrorCode()
				} else if err != nil {
					got = err.Error()
				}
				if got != want {
					t.Fatalf("poll %d: %q, want %q", i, got, want)
				}
				if want == "" && aws.ToString(tok.AccessToken) == "" {
					t.Fatalf("poll %d: no access token", i)
				}
			}
		})
	}
}

func TestSDKPagination(t *testing.T) {
	accounts := []ssotest.Account{
		{ID: "111111111111", Name: "one", Roles: []string{"A", "B", "C"}},
		{ID: "222222222222", Name: "two", Roles: []string{"A"}},
		{ID: "333333333333", Name: "three", Roles: []string{"B"}},
	}
	f := ssotest.New(t, ssotest.Options{Accounts: accounts})
	f.Accept("token")
	_, pc := clients(f)
	var ids []string
	p := sso.NewListAccountsPaginator(pc, &sso.ListAccountsInput{AccessToken: aws.String("token")})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.AccountList {
			ids = append(ids, aws.ToString(a.AccountId)+"="+aws.ToString(a.AccountName))
		}
	}
	if got := strings.Join(ids, ","); got != "111111111111=one,222222222222=two,333333333333=three" {
		t.Errorf("accounts = %s", got)
	}
	var roles []string
	rp := sso.NewListAccountRolesPaginator(pc, &sso.ListAccountRolesInput{AccessToken: aws.String("token"), AccountId: aws.String("111111111111")})
	for rp.HasMorePages() {
		out, err := rp.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.RoleList {
			roles = append(roles, aws.ToString(r.RoleName))
		}
	}
	if got := strings.Join(roles, ","); got != "A,B,C" {
		t.Errorf("roles = %s", got)
	}
	if n := f.Calls("ListAccounts"); n != 2 {
		t.Errorf("ListAccounts called %d times, want 2 pages", n)
	}
	_, err := pc.ListAccounts(t.Context(), &sso.ListAccountsInput{AccessToken: aws.String("nope")})
	if ue := (*ssotypes.UnauthorizedException)(nil); !errors.As(err, &ue) {
		t.Errorf("bad token: %v", err)
	}
}
