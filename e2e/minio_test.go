package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// minioRoleARN is the role credd assumes. MinIO accepts any well-formed
// role ARN from the root user (it checks the SigV4 signature and that the
// caller is not itself a session); credd's config validation wants the
// arn:PARTITION:iam::ACCOUNT:role/NAME shape, which MinIO's own form has.
const minioRoleARN = "arn:minio:iam:::role/credd-e2e"

// minioBinary finds MinIO: $CREDD_MINIO_BIN, `minio` on PATH, the CI cache,
// then $(go env GOPATH)/bin.
func minioBinary() (string, error) {
	if p := os.Getenv("CREDD_MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CREDD_MINIO_BIN: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	var candidates []string
	// The CI cache holds MinIO's Linux build (scripts/install-peers): under
	// wine the path exists (drive Z:) but the program does not run there.
	if runtime.GOOS == "linux" {
		candidates = append(candidates, "/root/.cache/credd-ci/bin/minio")
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		exe := "minio"
		if runtime.GOOS == "windows" {
			exe += ".exe"
		}
		for _, gp := range filepath.SplitList(strings.TrimSpace(string(out))) {
			candidates = append(candidates, filepath.Join(gp, "bin", exe))
		}
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	where := "on PATH"
	if len(candidates) > 0 {
		where += fmt.Sprintf(" and in %v", candidates)
	}
	if runtime.GOOS != "linux" {
		where += " (the CI cache's MinIO is a Linux program: this OS needs its own build)"
	}
	return "", fmt.Errorf("no minio binary (set CREDD_MINIO_BIN, or `go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c`); looked %s", where)
}

// minioOutput collects a subprocess's output while tests read it.
type minioOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *minioOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *minioOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startMinio runs a MinIO server on a free loopback port with a fresh data
// directory, waits until it is live, and stops it when the test ends. Its
// output is logged if the test fails.
func startMinio(t *testing.T) (endpoint, rootUser, rootPass string) {
	t.Helper()
	endpoint, rootUser, rootPass, _ = startMinioEnv(t)
	return endpoint, rootUser, rootPass
}

// startMinioEnv starts MinIO with extra environment (e.g. its OpenID
// settings) and returns its output too.
func startMinioEnv(t *testing.T, extraEnv ...string) (endpoint, rootUser, rootPass string, out *minioOutput) {
	t.Helper()
	bin, err := minioBinary()
	requirePeer(t, "MinIO", err)
	rootUser, rootPass = "credd-e2e-root", "credd-e2e-root-secret"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	endpoint = "http://" + addr

	cmd := exec.Command(bin, "server", filepath.Join(t.TempDir(), "data"), "--address", addr)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"MINIO_ROOT_USER=" + rootUser,
		"MINIO_ROOT_PASSWORD=" + rootPass,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	out = &minioOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start MinIO %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("MinIO output:\n%s", out.String())
		}
	})

	client := &http.Client{Timeout: time.Second}
	// MinIO initialises its IAM in the background after it starts: seconds
	// on a quiet machine, more on a loaded one. The bound only turns a
	// MinIO that never gets ready into a failure.
	const readyWithin = 2 * time.Minute
	deadline := time.Now().Add(readyWithin)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("MinIO exited before it was live: %v", err)
		default:
		}
		err := minioReady(t.Context(), client, endpoint, rootUser, rootPass)
		if err == nil {
			return endpoint, rootUser, rootPass, out
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO at %s not ready after %v (last: %v)", endpoint, readyWithin, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// minioReady reports whether MinIO serves STS yet. Its health endpoints
// answer as soon as the object layer is up, but the IAM subsystem
// initialises afterwards, in the background, and until then every STS
// call fails with "Server not initialized, please try again". So the probe
// is the call the tests depend on: an AssumeRole signed with the root keys.
func minioReady(ctx context.Context, hc *http.Client, endpoint, rootUser, rootPass string) error {
	resp, err := hc.Get(endpoint + "/minio/health/live")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health/live: %s", resp.Status)
	}
	client := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(rootUser, rootPass, ""),
		HTTPClient:   hc,
		Retryer:      aws.NopRetryer{},
	})
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(minioRoleARN),
		RoleSessionName: aws.String("credd-e2e-ready"),
	})
	return err
}

// TestMinio runs credd with MinIO as its STS and has real clients use what
// credd serves against MinIO's S3: MinIO checks the signatures, so a
// working call proves the credentials are real.
func TestMinio(t *testing.T) {
	minio, rootUser, rootPass := startMinio(t)
	cfgYAML := fmt.Sprintf(`
default_profile: app
sts: {region: us-east-1, endpoint: %q}
profiles:
  root: {aws_profile: root}
  app: {source_profile: root, role_arn: %q, duration: 1h, role_session_name: e2e}
  chained: {aws_profile: chained}
`, minio, minioRoleARN)
	// The chained profile is resolved by the SDK alone: its AssumeRole goes
	// to MinIO through the services section. A profile-level endpoint_url
	// would not do: the SDK resolves it after the credential chain (and
	// sts.NewFromConfig copies the config when the chain is built), so the
	// AssumeRole of a role_arn profile ignores it; services.sts.endpoint_url
	// is read from the config sources by the STS client itself.
	awsConfig := fmt.Sprintf(`[profile root]
aws_access_key_id = %s
aws_secret_access_key = %s
region = us-east-1

[profile chained]
role_arn = %s
source_profile = root
role_session_name = e2e-chained
region = us-east-1
services = minio

[services minio]
sts =
  endpoint_url = %s
`, rootUser, rootPass, minioRoleARN, minio)
	cleanAWSEnv(t) // before credd starts: its SDK must not see the user's AWS_* either
	c := startCredd(t, cfgYAML, awsConfig)

	t.Run("go sdk: container endpoint then S3", func(t *testing.T) {
		cfg, got := goSDKFromContainer(t, c.URL+"/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", c.TokenPath)
		if got.AccessKeyID == rootUser || got.SecretAccessKey == rootPass || got.SessionToken == "" {
			t.Errorf("served %q with session token %v: want MinIO session credentials, not the root keys", got.AccessKeyID, got.SessionToken != "")
		}
		if left := time.Until(got.Expires); left < 40*time.Minute || left > time.Hour+time.Minute {
			t.Errorf("expires in %v, want about 1h (duration: 1h)", left)
		}
		minioS3Bucket(t, cfg, minio, "credd-e2e-go")
	})

	t.Run("boto3: container endpoint then S3", func(t *testing.T) {
		py := minioPython(t)
		out := minioRunPeer(t, minioPeerEnv(t, c, "/v1/credentials"), py, "-c", minioBoto3Script, minio, "credd-e2e-boto3")
		var res struct {
			Method, AccessKey string
			Buckets           []string
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("boto3 output %q: %v", out, err)
		}
		if res.Method != "container-role" {
			t.Errorf("boto3 credential method = %q, want container-role", res.Method)
		}
		if res.AccessKey == "" || res.AccessKey == rootUser {
			t.Errorf("boto3 got access key %q, want a MinIO session key", res.AccessKey)
		}
		if !slices.Contains(res.Buckets, "credd-e2e-boto3") {
			t.Errorf("buckets %v do not include credd-e2e-boto3", res.Buckets)
		}
	})

	t.Run("aws cli v2.9: container endpoint then S3", func(t *testing.T) {
		const cliPath = "/usr/bin/aws"
		_, err := os.Stat(cliPath)
		requirePeer(t, "Debian's AWS CLI ("+cliPath+", apt-get install awscli)", err)
		env := minioPeerEnv(t, c, "/v1/credentials")
		minioRunPeer(t, env, cliPath, "--endpoint-url", minio, "s3", "mb", "s3://credd-e2e-cli")
		out := minioRunPeer(t, env, cliPath, "--endpoint-url", minio, "s3", "ls")
		if !strings.Contains(string(out), "credd-e2e-cli") {
			t.Errorf("aws s3 ls does not list credd-e2e-cli:\n%s", out)
		}
		who := minioRunPeer(t, env, cliPath, "configure", "list")
		if !strings.Contains(string(who), "container-role") {
			t.Errorf("aws configure list does not show container-role credentials:\n%s", who)
		}
	})

	t.Run("long-term keys are refused with an explanation", func(t *testing.T) {
		// MinIO has no GetSessionToken, and credd never serves the keys.
		resp := c.get(t, "/v1/credentials/root", map[string]string{"Authorization": c.Token})
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503; body %s", resp.StatusCode, body)
		}
		if strings.Contains(string(body), rootPass) {
			t.Fatalf("the error response contains the root secret key: %s", body)
		}
		var e struct{ Code, Message string }
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("body %q is not a JSON error: %v", body, err)
		}
		t.Logf("credd says: %s: %s", e.Code, e.Message)
		for _, want := range []string{"GetSessionToken", "long-term"} {
			if !strings.Contains(e.Message, want) {
				t.Errorf("message %q does not mention %q", e.Message, want)
			}
		}
		// The Go SDK surfaces the same explanation to its users (no retries:
		// the SDK would otherwise retry the 503 with back-off).
		_, err = endpointcreds.New(c.URL+"/v1/credentials/root", func(o *endpointcreds.Options) {
			o.AuthorizationToken = c.Token
			o.Retryer = aws.NopRetryer{}
		}).Retrieve(t.Context())
		if err == nil || !strings.Contains(err.Error(), "GetSessionToken") {
			t.Errorf("endpointcreds error = %v, want it to mention GetSessionToken", err)
		}
	})

	t.Run("aws_profile whose SDK chain assumes the role", func(t *testing.T) {
		p := endpointcreds.New(c.URL+"/v1/credentials/chained", func(o *endpointcreds.Options) {
			o.AuthorizationToken = c.Token
		})
		got, err := p.Retrieve(t.Context())
		if err != nil {
			t.Fatalf("retrieve: %v", err)
		}
		if got.AccessKeyID == rootUser || got.SessionToken == "" {
			t.Fatalf("served %q with session token %v: want MinIO session credentials", got.AccessKeyID, got.SessionToken != "")
		}
		cfg := aws.Config{Region: "us-east-1", Credentials: aws.NewCredentialsCache(p)}
		minioS3Bucket(t, cfg, minio, "credd-e2e-chained")
	})
}

// minioS3Bucket creates bucket on MinIO with cfg's credentials and checks
// that ListBuckets shows it.
func minioS3Bucket(t *testing.T, cfg aws.Config, minio, bucket string) {
	t.Helper()
	cfg.Region = "us-east-1"
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(minio)
		o.UsePathStyle = true
	})
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", bucket, err)
	}
	out, err := client.ListBuckets(t.Context(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if !slices.Contains(names, bucket) {
		t.Errorf("ListBuckets = %v, want it to include %s", names, bucket)
	}
}

// minioBoto3Script creates a bucket (argv[2]) on MinIO (argv[1]) with the
// default credential chain and prints what it used and found.
const minioBoto3Script = `
import json, sys
import boto3
from botocore.config import Config
s = boto3.session.Session()
c = s.get_credentials()
s3 = s.client("s3", endpoint_url=sys.argv[1], config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=sys.argv[2])
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
print(json.dumps({"Method": c.method, "AccessKey": c.get_frozen_credentials().access_key, "Buckets": names}))
`

// minioPython returns the real interpreter behind `python3` (not a
// pyenv shim, which needs the user's HOME) once it imports boto3.
func minioPython(t *testing.T) string {
	t.Helper()
	return requireBoto3(t)
}

// minioPeerEnv is a from-scratch environment for a Python peer: nothing of
// the user's AWS setup, the container endpoint with the token itself (old
// botocore ignores AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
func minioPeerEnv(t *testing.T, c *credd, path string) []string {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	writeFile(t, empty, "")
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + c.URL + path,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + c.Token,
	}
}

// minioRunPeer runs a client with env, bounded, and returns its stdout; it fails
// the test with the client's output if it does not succeed.
func minioRunPeer(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}
