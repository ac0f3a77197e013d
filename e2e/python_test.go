package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/internal/peertest"
)

// This file holds the Python judges (boto3 from the machine's python3, and
// Debian's AWS CLI v2 at /usr/bin/aws) and the helpers every subprocess
// judge shares (js_test.go uses them too).

// clientTimeout bounds every run of a non-Go client: peertest's bound on a
// peer, which only stops a hung one. The AWS CLI alone takes 2 to 3 s of
// CPU to start, and the tests run several clients at once beside other
// packages' tests (go test ./...): under load one boto3 run took 23 s.
const clientTimeout = peertest.Timeout

// clientEnv is the whole environment of a client subprocess, built from
// scratch so that nothing on the machine leaks in: PATH, a fresh HOME, empty
// shared config and credentials files, AWS_REGION, and vars.
func clientEnv(t *testing.T, vars map[string]string) []string {
	t.Helper()
	home := t.TempDir()
	empty := filepath.Join(home, "empty")
	writeFile(t, empty, "")
	env := map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"HOME":                        home,
		"AWS_CONFIG_FILE":             empty,
		"AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_REGION":                  "us-east-1",
	}
	for k, v := range vars {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// clientRun is what a client subprocess did.
type clientRun struct {
	Stdout, Stderr string
	Err            error // nil on exit status 0
}

// runClient runs name with args in dir under env and clientTimeout.
func runClient(t *testing.T, env []string, dir, name string, args ...string) clientRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish within %v:\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), clientTimeout, stdout.String(), stderr.String())
	}
	return clientRun{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// decodeOutput fails the test unless the client succeeded and printed JSON
// that decodes into v.
func (r clientRun) decodeOutput(t *testing.T, v any) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("client failed: %v\nstdout: %s\nstderr: %s", r.Err, r.Stdout, r.Stderr)
	}
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("client output is not the expected JSON: %v\nstdout: %s\nstderr: %s", err, r.Stdout, r.Stderr)
	}
}

// wantFailure fails the test unless the client failed and its stderr
// mentions every one of wantInErr.
func (r clientRun) wantFailure(t *testing.T, wantInErr ...string) {
	t.Helper()
	if r.Err == nil {
		t.Fatalf("client succeeded, want an error\nstdout: %s\nstderr: %s", r.Stdout, r.Stderr)
	}
	var exit *exec.ExitError
	if !errors.As(r.Err, &exit) {
		t.Fatalf("client did not run: %v", r.Err)
	}
	for _, want := range wantInErr {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, r.Stderr)
		}
	}
	if strings.Contains(r.Stdout, "SecretAccessKey") || strings.Contains(r.Stdout, "secret") {
		t.Errorf("a failed client printed credentials: %s", r.Stdout)
	}
}

// checkClientCreds compares what a client got with the profile credd serves.
// expires is the client's expiry in RFC 3339; empty skips the check.
func checkClientCreds(t *testing.T, key, secret, token, expires string, want processProfile) {
	t.Helper()
	if key != want.AccessKeyID || secret != want.Secret || token != want.SessionToken {
		t.Errorf("got key %q secret %q token %q, want %q %q %q", key, secret, token, want.AccessKeyID, want.Secret, want.SessionToken)
	}
	if expires == "" {
		return
	}
	got, err := time.Parse(time.RFC3339, expires)
	if err != nil {
		t.Errorf("expiry %q: %v", expires, err)
	} else if !got.Equal(want.Expires) {
		t.Errorf("expiry = %v, want %v", got, want.Expires)
	}
}

func requireBoto3(t *testing.T) string {
	t.Helper()
	py, err := peertest.Boto3Python()
	requirePeer(t, "python3 with boto3", err)
	return py
}

// requireTokenFile skips a case that gives boto3 the container token in a
// file when its botocore predates AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// (Debian 12's 1.29 does; the machine's python3 may hold a newer one).
// Every other case judges that botocore with the token in the environment.
func requireTokenFile(t *testing.T, py string) {
	t.Helper()
	out, err := exec.Command(py, "-c", "import botocore, botocore.credentials as c; print(botocore.__version__, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE' in open(c.__file__).read())").Output()
	if err != nil {
		t.Fatalf("asking botocore: %v", err)
	}
	if version, reads, _ := strings.Cut(strings.TrimSpace(string(out)), " "); reads != "True" {
		t.Skipf("botocore %s does not read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", version)
	}
}

// boto3CredsScript resolves credentials the way every boto3 client does
// (Session().get_credentials(), the default chain) and prints them with the
// provider botocore reports. The expiry is the private _expiry_time of
// RefreshableCredentials: botocore has no public accessor for it.
const boto3CredsScript = `
import json, sys
import boto3, botocore
creds = boto3.Session().get_credentials()
if creds is None:
    sys.exit("boto3 found no credentials")
frozen = creds.get_frozen_credentials()
expiry = getattr(creds, "_expiry_time", None)
print(json.dumps({
    "access_key": frozen.access_key,
    "secret_key": frozen.secret_key,
    "token": frozen.token,
    "account_id": getattr(frozen, "account_id", None),
    "method": creds.method,
    "expiry": expiry.isoformat() if expiry else None,
    "versions": {"boto3": boto3.__version__, "botocore": botocore.__version__},
}))
`

type boto3Creds struct {
	AccessKey string  `json:"access_key"`
	SecretKey string  `json:"secret_key"`
	Token     string  `json:"token"`
	AccountID *string `json:"account_id"`
	Method    string  `json:"method"`
	Expiry    *string `json:"expiry"`
	Versions  struct {
		Boto3    string `json:"boto3"`
		Botocore string `json:"botocore"`
	} `json:"versions"`
}

// TestBoto3 has boto3's default credential chain fetch credentials from
// credd through IMDS and through the container endpoint, and checks that
// botocore used the provider we meant (creds.method).
//
// Not covered: a named profile over IMDS. botocore 1.43 has no
// AWS_EC2_INSTANCE_PROFILE_NAME (nor ec2_instance_profile_name) setting: its
// InstanceMetadataFetcher always takes the role that
// .../security-credentials/ lists, i.e. credd's default_profile.
func TestBoto3(t *testing.T) {
	py := requireBoto3(t)
	c, dev, ops := startTwoFetched(t)
	const imds, container = "iam-role", "container-role"
	for _, tc := range []struct {
		name       string
		env        map[string]string
		want       processProfile
		wantMethod string
	}{
		{"imds, endpoint with trailing slash", map[string]string{
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.imdsEndpoint(),
		}, dev, imds},
		{"imds, endpoint without trailing slash", map[string]string{
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.URL,
		}, dev, imds},
		{"container default profile, token file", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
		}, dev, container},
		{"container named profile, token file", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
		}, ops, container},
		{"container default profile, token in env", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, dev, container},
		{"container named profile, token in env", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, ops, container},
		{"container, both token variables as credd env sets them", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":      c.Token,
		}, ops, container},
		{"container on localhost", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://localhost:" + c.Port + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, dev, container},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]; !ok && tc.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] != "" {
				requireTokenFile(t, py)
			}
			t.Parallel()
			var got boto3Creds
			runClient(t, clientEnv(t, tc.env), t.TempDir(), py, "-c", boto3CredsScript).decodeOutput(t, &got)
			t.Logf("boto3 %s, botocore %s: method %q, expiry %v, account %v", got.Versions.Boto3, got.Versions.Botocore, got.Method, strOrEmpty(got.Expiry), strOrEmpty(got.AccountID))
			if got.Method != tc.wantMethod {
				t.Errorf("botocore used provider %q, want %q", got.Method, tc.wantMethod)
			}
			if got.Expiry == nil {
				t.Errorf("botocore reports no expiry: it did not take the credentials as temporary")
			}
			checkClientCreds(t, got.AccessKey, got.SecretKey, got.Token, strOrEmpty(got.Expiry), tc.want)
		})
	}
}

// TestBoto3Errors: when credd refuses, botocore reports an error (with
// our status) instead of credentials.
func TestBoto3Errors(t *testing.T) {
	py := requireBoto3(t)
	c, _, _ := startTwo(t)
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantInErr []string
	}{
		{"container, wrong token", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  "wrong",
		}, []string{"container-role", "401"}},
		{"container, unknown profile", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials/nope",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, []string{"container-role", "404", "unknown profile"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runClient(t, clientEnv(t, tc.env), t.TempDir(), py, "-c", boto3CredsScript)
			r.wantFailure(t, tc.wantInErr...)
			t.Logf("boto3 said: %s", lastStderrLine(r.Stderr))
		})
	}
}

// debianAWSCLI is Debian's AWS CLI v2 (apt-get install awscli). It runs on a
// botocore fork vendored as awscli.botocore (not Debian's python3-botocore),
// which glues AWS_EC2_METADATA_SERVICE_ENDPOINT and the path together
// without a separator and reads only AWS_CONTAINER_AUTHORIZATION_TOKEN.
const debianAWSCLI = peertest.DebianAWSCLI

func requireDebianAWSCLI(t *testing.T) {
	t.Helper()
	peertest.RequireDebianAWSCLI(t)
}

// exportCredentials is the credential_process document that
// `aws configure export-credentials --format process` prints.
type exportCredentials struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

// TestDebianAWSCLI has the old CLI resolve credentials from credd with
// exactly the settings `credd env` hands out (DESIGN.md §6, §7) and print
// them with `aws configure export-credentials`.
//
// The CLI's export has no "which provider" field, so each case sets only one
// source; the failure cases in TestDebianAWSCLIErrors show that each setting
// is the one used.
func TestDebianAWSCLI(t *testing.T) {
	requireDebianAWSCLI(t)
	c, dev, ops := startTwoFetched(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want processProfile
	}{
		{"imds, endpoint with trailing slash", map[string]string{
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.imdsEndpoint(),
		}, dev},
		{"container default profile, token in env", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, dev},
		{"container named profile, token in env", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, ops},
		{"container, both token variables as credd env sets them", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":      c.Token,
		}, ops},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got exportCredentials
			runClient(t, clientEnv(t, tc.env), t.TempDir(), debianAWSCLI, "configure", "export-credentials", "--format", "process").decodeOutput(t, &got)
			if got.Version != 1 {
				t.Errorf("Version = %d, want 1", got.Version)
			}
			checkClientCreds(t, got.AccessKeyID, got.SecretAccessKey, got.SessionToken, got.Expiration, tc.want)
		})
	}
}

// TestDebianAWSCLIErrors: the old CLI reports an error, not credentials,
// when credd refuses it, and the two quirks DESIGN.md §7 works around are
// real (so the settings in TestDebianAWSCLI are the ones that mattered).
func TestDebianAWSCLIErrors(t *testing.T) {
	requireDebianAWSCLI(t)
	c, _, _ := startTwo(t)
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantInErr []string
	}{
		{"container, wrong token", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  "wrong",
		}, []string{"container-role", "401"}},
		{"container, token file only: the old CLI ignores it and sends no token", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
		}, []string{"container-role", "401"}},
		{"imds, endpoint without trailing slash: the old CLI cannot build the URL", map[string]string{
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.URL,
		}, []string{c.URL + "latest/api/token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runClient(t, clientEnv(t, tc.env), t.TempDir(), debianAWSCLI, "configure", "export-credentials", "--format", "process")
			r.wantFailure(t, tc.wantInErr...)
			t.Logf("aws said: %s", lastStderrLine(r.Stderr))
		})
	}
}

func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func lastStderrLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
