package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func parse(t *testing.T, y string) Config {
	t.Helper()
	c, err := Parse(strings.NewReader(y))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestDefaultsAndFullExample(t *testing.T) {
	c := parse(t, `
listen: 127.0.0.1:9955
default_profile: dev
refresh: {ahead: 10m}
sso_sessions:
  corp: {start_url: https://corp.awsapps.com/start, region: eu-west-1, scopes: [sso:account:access], flow: browser}
identity_providers:
  okta: {issuer: https://corp.okta.com/oauth2/default, client_id: 0oa1example, scopes: [openid, email, offline_access]}
profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Developer}
  app: {identity_provider: okta, role_arn: "arn:aws:iam::111122223333:role/app", session_name_claim: email}
  tenant:
    source_profile: dev
    role_arn: arn:aws:iam::111122223333:role/tenant-data
    identity_provider: okta
    session_tags_from_claims: {TenantID: tenant_id}
    transitive_tag_keys: [TenantID]
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::444455556666:role/ops
    external_id: example
    session_tags: {team: ops}
    duration: 45m
  legacy: {aws_profile: legacy-admin}
  keys:
    aws_profile: keys
    console:
      destination: s3
      session_duration: 8h
      policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
      policy_arns: [arn:aws:iam::aws:policy/ReadOnlyAccess, arn:aws:iam::111122223333:policy/team/extra]
  minio: {source_profile: legacy, role_arn: "arn:minio:iam:::role/dummy"}
  keys-mfa: {aws_profile: keys, mfa_serial: "arn:aws:iam::111122223333:mfa/alice", mfa_session_duration: 36h}
  admin:
    source_profile: keys
    role_arn: arn:aws:iam::111122223333:role/admin
    mfa_serial: GAHT12345678
    mfa_process: ykman oath accounts code --single aws
`)
	if err := c.Validate(); err != nil {
		t.Fatalf("the DESIGN.md example should validate:\n%v", err)
	}
	if c.Refresh.Ahead.Duration != 10*time.Minute || c.Refresh.IdleAfter.Duration != 12*time.Hour || c.Refresh.FetchTimeout.Duration != time.Minute {
		t.Errorf("refresh = %+v", c.Refresh)
	}
	if c.STS.Region != "us-east-1" || c.SessionStore != "auto" || c.IMDS.HopLimit != 1 || c.Console.Issuer != "credd" {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.Profiles["ops"].SessionDuration() != 45*time.Minute || c.Profiles["dev"].SessionDuration() != time.Hour {
		t.Errorf("durations: ops %s dev %s", c.Profiles["ops"].SessionDuration(), c.Profiles["dev"].SessionDuration())
	}
	// Case matters in tag keys and profile names (viper would lower-case them).
	if _, ok := c.Profiles["tenant"].SessionTagsFromClaims["TenantID"]; !ok {
		t.Errorf("tag key case lost: %v", c.Profiles["tenant"].SessionTagsFromClaims)
	}
	if got := c.Profiles["keys-mfa"].MFADuration(); got != 36*time.Hour {
		t.Errorf("keys-mfa MFA session = %s, want 36h", got)
	}
	if got := c.Profiles["admin"].MFADuration(); got != 12*time.Hour {
		t.Errorf("admin MFA session = %s, want the default 12h", got)
	}
	want := map[string]SourceKind{"dev": SourceSSO, "app": SourceOIDC, "tenant": SourceAssumeRole, "ops": SourceAssumeRole, "legacy": SourceAWSProfile}
	for name, kind := range want {
		if got := c.Profiles[name].Source(); got != kind {
			t.Errorf("%s source = %q, want %q", name, got, kind)
		}
	}
}

func TestParseErrorsNameTheirKey(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top-level key", "lisen: 127.0.0.1:1\n", []string{"lisen: unknown key (line 1)", "known keys here: allow_clients"}},
		{"unknown nested key", "imds:\n  allow_v2: true\n", []string{"imds.allow_v2: unknown key (line 2)"}},
		{"unknown profile key", "profiles:\n  dev:\n    aws_profle: x\n", []string{"profiles.dev.aws_profle: unknown key"}},
		{"all unknown keys at once", "a: 1\nb: 2\n", []string{"a: unknown key", "b: unknown key"}},
		{"bool of the wrong kind", "imds: {allow_v1: maybe}\n", []string{`imds.allow_v1: must be true or false, got "maybe"`}},
		{"int of the wrong kind", "imds: {hop_limit: two}\n", []string{`imds.hop_limit: must be a whole number`}},
		{"list where a scalar goes", "listen: [a, b]\n", []string{"listen: must be a single value"}},
		{"scalar where a list goes", "extra_listen: 1.2.3.4:1\n", []string{"extra_listen: must be a list"}},
		{"listener key unknown", "extra_listen: [{address: 172.17.0.1:9955, alow_clients: [172.17.0.0/16]}]\n", []string{"extra_listen[0].alow_clients: unknown key"}},
		{"listener that is a list", "extra_listen: [[a]]\n", []string{"extra_listen[0]: must be a mapping of keys"}},
		{"profile that is not a mapping", "profiles:\n  dev: 3\n", []string{"profiles.dev: must be a mapping of keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestParseKeepsWhatDecodes: next to the problems it reports, Parse hands
// back every value that decoded, so Validate can report the rest.
func TestParseKeepsWhatDecodes(t *testing.T) {
	c, err := Parse(strings.NewReader(`
lisen: 127.0.0.1:1
listen: 0.0.0.0:1
state_dir: /var/state/credd
imds: {hop_limit: two, allow_v1: true}
profiles:
  dev: {aws_profile: dev, duration: 20h, regoin: x}
  bad: 3
`))
	es, ok := AsErrors(err)
	if !ok || len(es) != 4 {
		t.Fatalf("err = %v, want 4 problems", err)
	}
	if c.Listen != "0.0.0.0:1" || c.StateDir != "/var/state/credd" || !c.IMDS.AllowV1 || c.IMDS.HopLimit != 1 ||
		c.Profiles["dev"].AWSProfile != "dev" || c.Profiles["dev"].Duration.String() != "20h" {
		t.Errorf("decoded values lost: %+v", c)
	}
}

func TestMerge(t *testing.T) {
	fe := func(key string) FieldError { return FieldError{Key: key, Msg: "m"} }
	keys := func(err error) string {
		es, _ := AsErrors(err)
		var k []string
		for _, e := range es {
			k = append(k, e.Key)
		}
		return strings.Join(k, " ")
	}
	for _, tc := range []struct {
		name     string
		found    Errors
		validate error
		want     string // keys, in order
	}{
		{"nothing", nil, nil, ""},
		{"parse only", Errors{fe("lisen")}, nil, "lisen"},
		{"validate only", nil, Errors{fe("listen"), fe("session_store")}, "listen session_store"},
		{"both, sorted by key", Errors{fe("lisen"), fe("imds.hop_limit")}, Errors{fe("listen"), fe("profiles.dev.duration"), fe("session_store")},
			"imds.hop_limit lisen listen profiles.dev.duration session_store"},
		{"consequences left out", Errors{fe("profiles.bad"), fe("extra_listen")}, Errors{fe("profiles.bad"), fe("profiles.bad.region"), fe("profiles.badger"), fe("extra_listen[0]")},
			"extra_listen profiles.bad profiles.badger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Merge(tc.found, tc.validate)
			if got := keys(err); got != tc.want {
				t.Errorf("keys = %q, want %q (%v)", got, tc.want, err)
			}
			if tc.want == "" && err != nil {
				t.Errorf("Merge = %v, want nil", err)
			}
		})
	}
}

func TestSalvage(t *testing.T) {
	for _, tc := range []struct {
		name, data            string
		stateDir, listen, def string
	}{
		{"valid YAML with problems", "lisen: x\nstate_dir: /s\nlisten: 127.0.0.1:7000\nimds: {hop_limit: two}\n", "/s", "127.0.0.1:7000", ""},
		{"not YAML", "state_dir: /s # mine\nlisten: '127.0.0.1:7000'\ndefault_profile: dev\nprofiles:\n  dev: {aws_profile: dev\n  x: [\n", "/s", "127.0.0.1:7000", "dev"},
		{"nested keys are not top-level", "profiles:\n  state_dir: /nested\n listen: [\n", "", Default().Listen, ""},
		{"values that do not parse keep the default", "listen: [a\nstate_dir: \"/s\n", "", Default().Listen, ""},
		{"nothing to salvage", ":::\n\t[\n", "", Default().Listen, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Salvage([]byte(tc.data))
			if c.StateDir != tc.stateDir || c.Listen != tc.listen || c.DefaultProfile != tc.def {
				t.Errorf("Salvage = state_dir %q listen %q default_profile %q, want %q %q %q", c.StateDir, c.Listen, c.DefaultProfile, tc.stateDir, tc.listen, tc.def)
			}
		})
	}
}

func TestInvalidYAML(t *testing.T) {
	if _, err := Parse(strings.NewReader("listen: [\n")); err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("err = %v", err)
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	c := parse(t, "# nothing yet\n")
	if c.Listen != Default().Listen {
		t.Errorf("listen = %q", c.Listen)
	}
}

func TestValidateReportsEveryErrorWithItsKey(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"bad duration", "refresh: {ahead: 20x}\n", []string{`refresh.ahead: invalid duration "20x"`}},
		{"zero duration", "refresh: {idle_after: 0s}\n", []string{"refresh.idle_after: must be a positive duration"}},
		{"fetch timeout zero", "refresh: {fetch_timeout: 0s}\n", []string{"refresh.fetch_timeout: must be a positive duration"}},
		{"fetch timeout too short", "refresh: {fetch_timeout: 500ms}\n", []string{"refresh.fetch_timeout: must be between 1s and 1h"}},
		{"fetch timeout too long", "refresh: {fetch_timeout: 2h}\n", []string{"refresh.fetch_timeout: must be between 1s and 1h"}},
		{"listen not host:port", "listen: localhost\n", []string{`listen: must be host:port`}},
		{"listen port not a number", "listen: 127.0.0.1:http\n", []string{"listen: port must be a number"}},
		{"listen not loopback", "listen: 0.0.0.0:9955\n", []string{"listen: must be a loopback address", "extra_listen"}},
		{"listen on a name", "listen: example.com:9955\n", []string{"listen: host must be an IP address or localhost"}},
		{"extra_listen without allow_clients", "extra_listen: [172.17.0.1:9955]\n", []string{"allow_clients: must list"}},
		{"bad CIDR", "allow_clients: [172.17.0.0/99]\nextra_listen: [172.17.0.1:9955]\n", []string{"allow_clients[0]: must be a CIDR"}},
		{"listener object without networks", "extra_listen: [{address: 172.17.0.1:9955}]\n", []string{"allow_clients: must list"}},
		{"listener object with a bad CIDR", "extra_listen: [{address: 172.17.0.1:9955, allow_clients: [nope]}]\n", []string{`extra_listen[0].allow_clients[0]: must be a CIDR`}},
		{"listener address missing", "extra_listen: [{allow_clients: [172.17.0.0/16]}]\n", []string{`extra_listen[0].address: must be host:port`}},
		{"listener naming no profile or client", "profiles:\n  dev: {aws_profile: x}\nextra_listen: [{address: 172.17.0.1:9955, allow_clients: [172.17.0.0/16], profile: prod, client: ci}]\n",
			[]string{`extra_listen[0].profile: names no profile: "prod"`, `extra_listen[0].client: names no client: "ci"`}},
		{"listener twice", "allow_clients: [172.17.0.0/16]\nextra_listen: [172.17.0.1:9955, {address: 172.17.0.1:9955}]\n", []string{"extra_listen[1]: 172.17.0.1:9955 is also extra_listen[0]"}},
		{"allow_users empty", "allow_users: []\n", []string{"allow_users: must list"}},
		{"allow_users odd name", "allow_users: [self, 'a/b']\n", []string{`allow_users[1]: must be self, a UID or a user name, got "a/b"`}},
		{"client named default", "profiles:\n  dev: {aws_profile: x}\nclients:\n  default: {profiles: [dev]}\n", []string{`clients.default: a client name is`}},
		{"client name with a path", "profiles:\n  dev: {aws_profile: x}\nclients:\n  ../x: {profiles: [dev]}\n", []string{`clients.../x: a client name is`}},
		{"client without profiles", "clients:\n  ci: {}\n", []string{"clients.ci.profiles: must list"}},
		{"client naming no profile", "profiles:\n  dev: {aws_profile: x}\nclients:\n  ci: {profiles: [dev, prod]}\n", []string{`clients.ci.profiles[1]: names no profile: "prod"`}},
		{"bad session store", "session_store: disk\n", []string{"session_store: must be one of auto, keyring, file, memory"}},
		{"hop limit out of range", "imds: {hop_limit: 0}\n", []string{"imds.hop_limit: must be between 1 and 64"}},
		{"bad STS region", "sts: {region: mars}\n", []string{`sts.region: is not an AWS region`}},
		{"STS endpoint not a URL", "sts: {endpoint: 'ftp://x'}\n", []string{"sts.endpoint: must be an http(s) URL"}},
		{"plain http to a remote host", "sts: {endpoint: 'http://sts.example.com'}\n", []string{"sts.endpoint: must use https"}},
		{"role ARN that is not an ARN", "profiles:\n  a: {aws_profile: x}\n  b: {source_profile: a, role_arn: 'role/ops'}\n", []string{`profiles.b.role_arn: is not an ARN`}},
		{"source_profile naming a missing profile", "profiles:\n  b: {source_profile: ghost, role_arn: 'arn:aws:iam::111122223333:role/x'}\n", []string{`profiles.b.source_profile: names no profile: "ghost"`}},
		{"cycle", "profiles:\n  a: {source_profile: b, role_arn: 'arn:aws:iam::111122223333:role/a'}\n  b: {source_profile: c, role_arn: 'arn:aws:iam::111122223333:role/b'}\n  c: {source_profile: a, role_arn: 'arn:aws:iam::111122223333:role/c'}\n",
			[]string{"profiles.a.source_profile: forms a cycle: a -> b -> c -> a"}},
		{"self cycle", "profiles:\n  a: {source_profile: a, role_arn: 'arn:aws:iam::111122223333:role/a'}\n", []string{"profiles.a.source_profile: forms a cycle: a -> a"}},
		{"zero sources", "profiles:\n  a: {region: us-east-1}\n", []string{"profiles.a: needs exactly one source"}},
		{"two sources", "profiles:\n  a: {aws_profile: x, sso_session: corp, account_id: '111122223333', role_name: R}\nsso_sessions:\n  corp: {start_url: 'https://x.awsapps.com/start', region: us-east-1}\n", []string{"profiles.a: has 2 sources (sso_session and aws_profile)"}},
		{"account id too short", "sso_sessions:\n  corp: {start_url: 'https://x.awsapps.com/start', region: us-east-1}\nprofiles:\n  dev: {sso_session: corp, account_id: '1111', role_name: R}\n", []string{`profiles.dev.account_id: must be 12 digits, got "1111"`}},
		{"start URL not https", "sso_sessions:\n  corp: {start_url: 'http://x.awsapps.com/start', region: us-east-1}\n", []string{"sso_sessions.corp.start_url: must use https"}},
		{"duration beyond STS limits", "profiles:\n  a: {aws_profile: x, duration: 13h}\n", []string{"profiles.a.duration: must be between 15m and 12h, got 13h"}},
		{"bad session name", "profiles:\n  a: {aws_profile: x}\n  b: {source_profile: a, role_arn: 'arn:aws:iam::111122223333:role/b', role_session_name: 'has space'}\n", []string{"profiles.b.role_session_name: must be 2..64"}},
		{"transitive key that is no tag", "profiles:\n  a: {aws_profile: x}\n  b: {source_profile: a, role_arn: 'arn:aws:iam::111122223333:role/b', session_tags: {team: x}, transitive_tag_keys: [project]}\n", []string{`profiles.b.transitive_tag_keys[0]: "project" is not a key`}},
		{"default profile missing", "default_profile: prod\nprofiles:\n  dev: {aws_profile: dev}\n", []string{`default_profile: names no profile: "prod" (profiles: dev)`}},
		{"name with a .. part", "profiles:\n  a/../b: {aws_profile: x}\n", []string{"profiles.a/../b: name may not have empty, . or .. parts"}},
		{"name with an empty part", "sso_sessions:\n  corp//x: {start_url: 'https://x.awsapps.com/start', region: us-east-1}\n", []string{"sso_sessions.corp//x: name may not have empty"}},
		{"name too long", "identity_providers:\n  " + strings.Repeat("n", 65) + ": {issuer: 'https://x.example.com', client_id: c}\n", []string{"name is longer than 64 characters"}},
		{"several errors at once", "listen: nope\nsession_store: x\nrefresh: {ahead: soon}\n", []string{"listen:", "session_store:", "refresh.ahead:"}},
		{"console session duration under 15m", "profiles:\n  a: {aws_profile: x, console: {session_duration: 10m}}\n", []string{"profiles.a.console.session_duration: must be between 15m and 12h, got 10m"}},
		{"console session duration over 12h", "profiles:\n  a: {aws_profile: x, console: {session_duration: 13h}}\n", []string{"profiles.a.console.session_duration: must be between 15m and 12h, got 13h"}},
		{"IAM endpoint not https", "iam: {endpoint: 'http://iam.example.com'}\n", []string{"iam.endpoint: must use https"}},
		{"federation policy for a role chain", "profiles:\n  a: {aws_profile: x}\n  b: {source_profile: a, role_arn: 'arn:aws:iam::111122223333:role/b', console: {policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess']}}\n",
			[]string{"profiles.b.console.policy_arns: is only used with aws_profile"}},
		{"federation policy not JSON", "profiles:\n  a: {aws_profile: x, console: {policy: 'allow everything'}}\n", []string{"profiles.a.console.policy: must be an IAM policy document in JSON"}},
		{"federation policy without statements", "profiles:\n  a: {aws_profile: x, console: {policy: '{\"Version\":\"2012-10-17\"}'}}\n", []string{"profiles.a.console.policy: has no Statement"}},
		{"federation policy too long", "profiles:\n  a: {aws_profile: x, console: {policy: '{\"Statement\":[],\"x\":\"" + strings.Repeat("y", 2100) + "\"}'}}\n", []string{"profiles.a.console.policy: is 2", "at most 2048"}},
		{"federation policy ARN malformed", "profiles:\n  a: {aws_profile: x, console: {policy_arns: ['ReadOnlyAccess', 'arn:aws:iam::aws:policy/ViewOnlyAccess']}}\n", []string{`profiles.a.console.policy_arns[0]: is not a managed policy ARN`}},
		{"too many federation policy ARNs", "profiles:\n  a: {aws_profile: x, console: {policy_arns: [" + strings.TrimSuffix(strings.Repeat("'arn:aws:iam::aws:policy/P', ", 11), ", ") + "]}}\n", []string{"profiles.a.console.policy_arns: at most 10 managed policies, got 11"}},
		{"MFA serial that is neither an ARN nor a serial", "profiles:\n  a: {aws_profile: x, mfa_serial: 'my phone'}\n", []string{`profiles.a.mfa_serial: must be an MFA device's ARN`, `got "my phone"`}},
		{"MFA serial too short", "profiles:\n  a: {aws_profile: x, mfa_serial: '1234'}\n", []string{`profiles.a.mfa_serial: must be an MFA device's ARN`}},
		{"MFA session under 15m", "profiles:\n  a: {aws_profile: x, mfa_serial: 'arn:aws:iam::111122223333:mfa/a', mfa_session_duration: 10m}\n", []string{"profiles.a.mfa_session_duration: must be between 15m and 36h, got 10m"}},
		{"MFA session over 36h", "profiles:\n  a: {aws_profile: x, mfa_serial: 'arn:aws:iam::111122223333:mfa/a', mfa_session_duration: 37h}\n", []string{"profiles.a.mfa_session_duration: must be between 15m and 36h, got 37h"}},
		{"MFA session not a duration", "profiles:\n  a: {aws_profile: x, mfa_session_duration: all day}\n", []string{`profiles.a.mfa_session_duration: invalid duration "all day"`}},
		{"MFA on an Identity Center profile", "sso_sessions:\n  corp: {start_url: 'https://x.awsapps.com/start', region: us-east-1}\nprofiles:\n  dev: {sso_session: corp, account_id: '111122223333', role_name: R, mfa_serial: 'arn:aws:iam::111122223333:mfa/a', mfa_process: x}\n",
			[]string{"profiles.dev.mfa_serial: is only used with aws_profile or source_profile + role_arn", "profiles.dev.mfa_process: is only used with"}},
		{"MFA on an OIDC profile", "identity_providers:\n  okta: {issuer: 'https://x.example.com', client_id: c}\nprofiles:\n  app: {identity_provider: okta, role_arn: 'arn:aws:iam::111122223333:role/app', mfa_session_duration: 1h}\n",
			[]string{"profiles.app.mfa_session_duration: is only used with aws_profile or source_profile + role_arn"}},
		{"MFA on a role whose source has no keys", "sso_sessions:\n  corp: {start_url: 'https://x.awsapps.com/start', region: us-east-1}\nprofiles:\n  dev: {sso_session: corp, account_id: '111122223333', role_name: R}\n  ops: {source_profile: dev, role_arn: 'arn:aws:iam::111122223333:role/ops', mfa_serial: 'arn:aws:iam::111122223333:mfa/a'}\n",
			[]string{"profiles.ops.mfa_serial: needs source_profile to be an aws_profile profile (IAM user keys), but dev is a sso_session profile"}},
		{"MFA on a role two hops above the keys", "profiles:\n  keys: {aws_profile: x}\n  mid: {source_profile: keys, role_arn: 'arn:aws:iam::111122223333:role/mid'}\n  top: {source_profile: mid, role_arn: 'arn:aws:iam::111122223333:role/top', mfa_serial: 'arn:aws:iam::111122223333:mfa/a'}\n",
			[]string{"profiles.top.mfa_serial: needs source_profile to be an aws_profile profile", "set mfa_serial on the profile that has the keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parse(t, tc.yaml)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate returned nil")
			}
			es, ok := AsErrors(err)
			if !ok {
				t.Fatalf("not Errors: %T", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%v\ndo not contain %q", err, w)
				}
			}
			if len(tc.want) > 1 && len(es) < len(tc.want) && tc.name == "several errors at once" {
				t.Errorf("got %d errors, want at least %d", len(es), len(tc.want))
			}
		})
	}
}

func TestSet(t *testing.T) {
	c := Default()
	for _, kv := range [][2]string{
		{"listen", "127.0.0.2:1234"}, {"extra_listen", "172.17.0.1:9955, 10.0.0.1:9955"}, {"allow_users", "self, 1001"}, {"iam.endpoint", "http://127.0.0.1:9001"},
		{"imds.allow_v1", "true"}, {"imds.hop_limit", "2"}, {"refresh.ahead", "5m"}, {"sts.endpoint", "http://127.0.0.1:9000"},
		{"refresh.fetch_timeout", "90s"},
	} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%s): %v", kv[0], err)
		}
	}
	if c.Listen != "127.0.0.2:1234" || len(c.ExtraListen) != 2 || c.ExtraListen[1].Address != "10.0.0.1:9955" || len(c.AllowUsers) != 2 || !c.IMDS.AllowV1 || c.IMDS.HopLimit != 2 || c.Refresh.Ahead.Duration != 5*time.Minute || c.Refresh.FetchTimeout.Duration != 90*time.Second || c.STS.Endpoint != "http://127.0.0.1:9000" || c.IAM.Endpoint != "http://127.0.0.1:9001" {
		t.Errorf("Set did not apply: %+v", c)
	}
	for _, tc := range []struct{ key, val, want string }{
		{"imds.hop_limit", "x", "imds.hop_limit: bad value"},
		{"refresh.ahead", "soon", "refresh.ahead: bad value"},
		{"profiles", "x", "profiles: cannot be set"},
	} {
		if err := c.Set(tc.key, tc.val); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%s, %s) = %v, want %q", tc.key, tc.val, err, tc.want)
		}
	}
	for _, k := range EnvKeys {
		if err := c.Set(k, "1"); err != nil && strings.Contains(err.Error(), "cannot be set") {
			t.Errorf("EnvKeys lists %s but Set refuses it", k)
		}
	}
}

// TestListenersAndClients: extra_listen takes the plain address and the
// object form side by side; allow_users defaults to self; both forms
// write back as they were given.
func TestListenersAndClients(t *testing.T) {
	c := parse(t, `
allow_clients: [172.17.0.0/16]
extra_listen:
  - 172.17.0.1:9955
  - address: 10.88.0.1:9955
    allow_clients: [10.88.0.0/16]
    profile: dev
    client: ci
clients:
  ci: {profiles: [dev]}
profiles:
  dev: {aws_profile: dev}
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []Listener{Addr("172.17.0.1:9955"), {Address: "10.88.0.1:9955", AllowClients: []string{"10.88.0.0/16"}, Profile: "dev", Client: "ci"}}
	if !reflect.DeepEqual(c.ExtraListen, want) {
		t.Fatalf("extra_listen = %+v, want %+v", c.ExtraListen, want)
	}
	if got := c.Networks(c.ExtraListen[0]); !slices.Equal(got, []string{"172.17.0.0/16"}) {
		t.Errorf("networks of the plain listener = %q", got)
	}
	if got := c.Networks(c.ExtraListen[1]); !slices.Equal(got, []string{"10.88.0.0/16"}) {
		t.Errorf("networks of the object listener = %q", got)
	}
	if !slices.Equal(c.AllowUsers, []string{Self}) || !slices.Equal(c.Clients["ci"].Profiles, []string{"dev"}) {
		t.Errorf("allow_users = %q, clients = %+v", c.AllowUsers, c.Clients)
	}
	if got := parse(t, "allow_users: [1001]\n").AllowUsers; !slices.Equal(got, []string{"1001"}) {
		t.Errorf("allow_users given = %q, want only 1001", got)
	}
	out, err := yaml.Marshal(c.ExtraListen)
	if err != nil {
		t.Fatal(err)
	}
	if want := "- 172.17.0.1:9955\n- address: 10.88.0.1:9955\n  allow_clients:\n    - 10.88.0.0/16\n  profile: dev\n  client: ci\n"; string(out) != want {
		t.Errorf("marshalled:\n%s\nwant:\n%s", out, want)
	}
}

func TestRedacted(t *testing.T) {
	c := parse(t, "profiles:\n  a: {aws_profile: x}\n  b: {source_profile: a, role_arn: 'arn:aws:iam::111122223333:role/b', external_id: s3cr3t-id}\n")
	r := c.Redacted()
	if r.Profiles["b"].ExternalID == "s3cr3t-id" {
		t.Error("external_id not redacted")
	}
	if c.Profiles["b"].ExternalID != "s3cr3t-id" {
		t.Error("Redacted modified the original")
	}
}

func TestDurationString(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{20 * time.Minute, "20m"}, {12 * time.Hour, "12h"}, {90 * time.Minute, "1h30m"},
		{30 * time.Second, "30s"}, {0, "0s"}, {time.Hour + 30*time.Second, "1h0m30s"}, {10 * time.Hour, "10h"},
	} {
		if got := Dur(tc.d).String(); got != tc.want {
			t.Errorf("Dur(%v).String() = %q, want %q", tc.d, got, tc.want)
		}
	}
	var d Duration
	if err := d.set("20m"); err != nil || d.String() != "20m" {
		t.Errorf("as written: %q %v", d.String(), err)
	}
}

// The length bounds that the patterns no longer carry.
func TestNameLengths(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   func(string) bool
		s    string
		want bool
	}{
		{"session name of 1", sessionName, "a", false},
		{"session name of 2", sessionName, "ab", true},
		{"session name of 64", sessionName, strings.Repeat("a", 64), true},
		{"session name of 65", sessionName, strings.Repeat("a", 65), false},
		{"session name with a space", sessionName, "a b", false},
		{"MFA serial of 8", mfaSerial, "12345678", false},
		{"MFA serial of 9", mfaSerial, "123456789", true},
		{"MFA serial ARN", mfaSerial, "arn:aws:iam::123456789012:mfa/me", true},
		{"MFA serial of 256", mfaSerial, strings.Repeat("a", 256), true},
		{"MFA serial of 257", mfaSerial, strings.Repeat("a", 257), false},
		{"client of 1", clientName, "a", true},
		{"client of 64", clientName, strings.Repeat("a", 64), true},
		{"client of 65", clientName, strings.Repeat("a", 65), false},
		{"client starting with -", clientName, "-a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ok(tc.s); got != tc.want {
				t.Errorf("%q: %v, want %v", tc.s, got, tc.want)
			}
		})
	}
}

// Profiles decoded entry by entry are what yaml.v3 decodes in one go, and
// a duplicate profile is still refused.
func TestParseProfilesEntryByEntry(t *testing.T) {
	const doc = `profiles:
  dev: {sso_session: corp, account_id: "111122223333", role_name: Dev, region: eu-west-1}
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::444455556666:role/ops
    session_tags: {team: ops}
    transitive_tag_keys: [team]
    console: {destination: https://console.aws.amazon.com/, session_duration: 2h}
  legacy: {aws_profile: legacy-admin}
sso_sessions:
  corp: {start_url: https://corp.awsapps.com/start, region: eu-west-1}
`
	got, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	want := Default()
	if err := root.Content[0].Decode(&want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entry by entry:\n%+v\nin one go:\n%+v", got.Profiles, want.Profiles)
	}
	if _, err := Parse(strings.NewReader("profiles:\n  dev: {aws_profile: a}\n  dev: {aws_profile: b}\n")); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Errorf("a duplicate profile: %v", err)
	}
}
