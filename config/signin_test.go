package config

import (
	"strings"
	"testing"
	"time"
)

// TestSignInKeys: login_session profiles, signin.* and the on-demand keys
// parse, default, and every bad value is reported under its key.
func TestSignInKeys(t *testing.T) {
	c := parse(t, `signin: {endpoint: "http://127.0.0.1:9000", share_aws_cli_cache: false}
sign_in_on_demand: browser
sign_in_on_demand_backoff: 30m
profiles:
  console: {login_session: "arn:aws:sts::111122223333:assumed-role/Admin/alice", region: eu-west-1}
  ops: {source_profile: console, role_arn: "arn:aws:iam::111122223333:role/ops"}
`)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.SignIn.Endpoint != "http://127.0.0.1:9000" || c.SignIn.SharesAWSCLICache() || c.SignInOnDemand != OnDemandBrowser || c.SignInOnDemandBackoff.Duration != 30*time.Minute {
		t.Errorf("parsed %+v", c)
	}
	if got := c.Profiles["console"].Source(); got != SourceSignIn {
		t.Errorf("source = %q, want login_session", got)
	}
	d := Default()
	if d.SignInOnDemand != "notify" || d.SignInOnDemandBackoff.Duration != 10*time.Minute || !d.SignIn.SharesAWSCLICache() {
		t.Errorf("defaults: on demand %q, backoff %s, share %v", d.SignInOnDemand, d.SignInOnDemandBackoff, d.SignIn.SharesAWSCLICache())
	}

	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"mode", "sign_in_on_demand: always\n", []string{`sign_in_on_demand: must be one of notify, browser, off, got "always"`}},
		{"backoff", "sign_in_on_demand_backoff: soon\n", []string{`sign_in_on_demand_backoff: invalid duration "soon"`}},
		{"backoff zero", "sign_in_on_demand_backoff: 0s\n", []string{"sign_in_on_demand_backoff: must be a positive duration"}},
		{"endpoint", "signin: {endpoint: ftp://x}\n", []string{"signin.endpoint: must be an http(s) URL"}},
		{"endpoint plain http", "signin: {endpoint: http://signin.example.com}\n", []string{"signin.endpoint: must use https"}},
		{"share not a bool", "signin: {share_aws_cli_cache: sometimes}\n", []string{"signin.share_aws_cli_cache: must be true or false"}},
		{"unknown signin key", "signin: {region: eu-west-1}\n", []string{"signin.region: unknown key"}},
		{"not an ARN", "profiles:\n  c: {login_session: alice}\n", []string{`profiles.c.login_session: must be the ARN of the signed-in user`}},
		{"ARN without account", "profiles:\n  c: {login_session: \"arn:aws:iam:::user/alice\"}\n", []string{"profiles.c.login_session: must be the ARN"}},
		{"two sources", "profiles:\n  c: {login_session: \"arn:aws:iam::111122223333:user/alice\", aws_profile: c}\n", []string{"profiles.c: has 2 sources (aws_profile and login_session)"}},
		{"role_arn", "profiles:\n  c: {login_session: \"arn:aws:iam::111122223333:user/alice\", role_arn: \"arn:aws:iam::111122223333:role/x\"}\n", []string{"profiles.c.role_arn: is only used with"}},
		{"mfa", "profiles:\n  c: {login_session: \"arn:aws:iam::111122223333:user/alice\", mfa_serial: \"arn:aws:iam::111122223333:mfa/alice\"}\n", []string{"profiles.c.mfa_serial: is only used with aws_profile"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.yaml))
			es, _ := AsErrors(err)
			err = Merge(es, c.Validate())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%v\ndo not contain %q", err, w)
				}
			}
		})
	}
}

func TestSignInKeysFromTheEnvironment(t *testing.T) {
	for _, tc := range []struct{ key, env string }{
		{"signin.endpoint", "CREDD_SIGNIN_ENDPOINT"},
		{"signin.share_aws_cli_cache", "CREDD_SIGNIN_SHARE_AWS_CLI_CACHE"},
		{"sign_in_on_demand", "CREDD_SIGN_IN_ON_DEMAND"},
		{"sign_in_on_demand_backoff", "CREDD_SIGN_IN_ON_DEMAND_BACKOFF"},
	} {
		if got := EnvName(tc.key); got != tc.env {
			t.Errorf("EnvName(%s) = %s, want %s", tc.key, got, tc.env)
		}
		if u := UnknownEnv([]string{tc.env + "=x"}); len(u) != 0 {
			t.Errorf("%s is reported unknown", tc.env)
		}
	}
	c := Default()
	for _, kv := range [][2]string{{"signin.endpoint", "http://127.0.0.1:1"}, {"signin.share_aws_cli_cache", "false"}, {"sign_in_on_demand", "off"}, {"sign_in_on_demand_backoff", "1h"}} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%s): %v", kv[0], err)
		}
	}
	if c.SignIn.Endpoint != "http://127.0.0.1:1" || c.SignIn.SharesAWSCLICache() || c.SignInOnDemand != "off" || c.SignInOnDemandBackoff.Duration != time.Hour {
		t.Errorf("Set did not apply: %+v %s", c.SignIn, c.SignInOnDemand)
	}
	for _, tc := range []struct{ key, val, want string }{
		{"signin.share_aws_cli_cache", "maybe", "signin.share_aws_cli_cache: bad value"},
		{"sign_in_on_demand_backoff", "later", "sign_in_on_demand_backoff: bad value"},
	} {
		if err := c.Set(tc.key, tc.val); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%s, %s) = %v, want %q", tc.key, tc.val, err, tc.want)
		}
	}
	if err := c.Set("sign_in_on_demand", "always"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sign_in_on_demand: must be one of") {
		t.Errorf("Validate = %v, want sign_in_on_demand named", err)
	}
}

func TestLoginCommandOfALoginSession(t *testing.T) {
	c := Config{Profiles: map[string]Profile{"console": {LoginSession: "arn:aws:iam::111122223333:user/alice"}}}
	if got := c.LoginCommand("console"); got != "credd login --signin --profile console" {
		t.Errorf("LoginCommand = %q", got)
	}
}
