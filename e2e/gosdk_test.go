package e2e

import (
	"bufio"
	"bytes"
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/credd/credd/cmd/credd/cli"
)

const twoProfiles = `
default_profile: dev
profiles:
  dev: {aws_profile: dev}
  ops: {aws_profile: ops}
`

func startTwo(t *testing.T) (*credd, processProfile, processProfile) {
	t.Helper()
	dev, devSec := newProcessProfile(t, "dev")
	ops, opsSec := newProcessProfile(t, "ops")
	return startCredd(t, twoProfiles, devSec+opsSec), dev, ops
}

// fetchedFirst has credd fetch profile's credentials before an SDK's IMDS
// client asks, on Windows, whose tests run under wine: there the first
// fetch starts cmd.exe and then the helper, 0.8 to 1.8 s here and more on
// a loaded machine, and the IMDS client gives up after about 3.5 s (0.5 s
// for each of three attempts and the backoff between them: measured with
// a helper that takes 6 s), the margin that the endpoints' 3 s wait once
// lacked (harness: requestWait). Elsewhere the helper starts in
// milliseconds and the SDK's first request makes the fetch;
// TestOneUpstreamCallForColdProfile tests the cold path everywhere.
func fetchedFirst(t *testing.T, c *credd, profile string) {
	t.Helper()
	if runtime.GOOS != "windows" {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.D.Current(ctx, profile); err != nil {
		t.Fatalf("first fetch of %s: %v", profile, err)
	}
}

// startTwoFetched is startTwo with both profiles fetched, for judges that
// read IMDS with a 1-second timeout and one attempt (boto3, the JavaScript
// SDK, the AWS CLI): a cold fetch runs a credential_process helper, which
// on a loaded machine can take longer than that, while what those tests
// judge is the answer. The cold path has its own tests (the Go SDK's,
// whose IMDS client tries three times, and TestOneUpstreamCallForColdProfile).
func startTwoFetched(t *testing.T) (*credd, processProfile, processProfile) {
	t.Helper()
	c, dev, ops := startTwo(t)
	for _, p := range []string{"dev", "ops"} {
		if _, err := c.D.Current(t.Context(), p); err != nil {
			t.Fatalf("fetching %s: %v", p, err)
		}
	}
	return c, dev, ops
}

// The Go SDK always takes the role IMDS lists (default_profile); it has no
// setting for another name.
func TestGoSDKEC2RoleCredsDirect(t *testing.T) {
	c, dev, _ := startTwo(t)
	fetchedFirst(t, c, "dev")
	for _, tc := range []struct {
		name, endpoint string
		want           processProfile
	}{
		{"endpoint with trailing slash", c.imdsEndpoint(), dev},
		{"endpoint without trailing slash", c.URL, dev},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := imds.New(imds.Options{Endpoint: tc.endpoint})
			p := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
				o.Client = client
			})
			got, err := p.Retrieve(t.Context())
			if err != nil {
				t.Fatalf("ec2rolecreds: %v", err)
			}
			if got.AccessKeyID != tc.want.AccessKeyID || got.SecretAccessKey != tc.want.Secret || got.SessionToken != tc.want.SessionToken {
				t.Errorf("got key %q token %q, want %q %q", got.AccessKeyID, got.SessionToken, tc.want.AccessKeyID, tc.want.SessionToken)
			}
			if !got.CanExpire || !got.Expires.Equal(tc.want.Expires) {
				t.Errorf("expires = %v (can expire %v), want %v", got.Expires, got.CanExpire, tc.want.Expires)
			}
		})
	}
}

func TestGoSDKLoadDefaultConfigIMDSEnv(t *testing.T) {
	c, dev, _ := startTwo(t)
	fetchedFirst(t, c, "dev")
	cleanAWSEnv(t)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", c.imdsEndpoint())
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	if got.AccessKeyID != dev.AccessKeyID || got.Source != ec2rolecreds.ProviderName {
		t.Errorf("got %q from %q, want %q from %q", got.AccessKeyID, got.Source, dev.AccessKeyID, ec2rolecreds.ProviderName)
	}
}

func TestGoSDKEndpointCredsContainerEnv(t *testing.T) {
	c, dev, ops := startTwo(t)
	for _, tc := range []struct {
		name, path string
		want       processProfile
	}{
		{"default profile", "/v1/credentials", dev},
		{"named profile", "/v1/credentials/ops", ops},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanAWSEnv(t)
			_, got := goSDKFromContainer(t, c.URL+tc.path, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", c.TokenPath)
			if got.AccessKeyID != tc.want.AccessKeyID {
				t.Errorf("got %q, want %q", got.AccessKeyID, tc.want.AccessKeyID)
			}
			// The SDK's cache reports expiry up to its expiry window early.
			if got.Expires.After(tc.want.Expires) || got.Expires.Before(tc.want.Expires.Add(-10*time.Minute)) {
				t.Errorf("expires %v, want within 10m before %v", got.Expires, tc.want.Expires)
			}
		})
	}
}

func TestGoSDKEndpointCredsErrors(t *testing.T) {
	c, _, _ := startTwo(t)
	for _, tc := range []struct {
		name, path, token, wantInErr string
	}{
		{"wrong token: the SDK reads our JSON error code", "/v1/credentials", "wrong", "Unauthorized: missing or wrong Authorization token"},
		{"unknown profile", "/v1/credentials/nope", c.Token, "unknown profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := endpointcreds.New(c.URL+tc.path, func(o *endpointcreds.Options) { o.AuthorizationToken = tc.token })
			_, err := p.Retrieve(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantInErr)
			}
		})
	}
}

// TestGoSDKWithCreddEnv runs `credd env` and hands exactly its output to
// LoadDefaultConfig, with nothing else set.
func TestGoSDKWithCreddEnv(t *testing.T) {
	c, _, ops := startTwo(t)
	cleanAWSEnv(t)
	cfgPath := c.Dir + "/credd.yaml"
	writeFile(t, cfgPath, "listen: 127.0.0.1:"+c.Port+"\nstate_dir: "+c.Dir+"/state\n"+twoProfiles)
	var out, errb bytes.Buffer
	env := map[string]string{"HOME": c.Dir}
	code := cli.Run(context.Background(), []string{"--config", cfgPath, "env", "--profile", "ops"}, cli.IO{
		Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] },
	})
	if code != 0 {
		t.Fatalf("credd env exited %d: %s", code, errb.String())
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "unset "); ok {
			t.Setenv(k, "")
			continue
		}
		kv, ok := strings.CutPrefix(line, "export ")
		if !ok {
			t.Fatalf("unexpected line %q", line)
		}
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, strings.Trim(v, "'"))
	}
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	if got.AccessKeyID != ops.AccessKeyID {
		t.Errorf("got %q, want %q", got.AccessKeyID, ops.AccessKeyID)
	}
}

// TestOneUpstreamCallForColdProfile sends 1000 concurrent first requests
// through the HTTP handler and counts the real credential_process runs.
func TestOneUpstreamCallForColdProfile(t *testing.T) {
	c, dev, _ := startTwo(t)
	h := c.D.Handler()
	var wg sync.WaitGroup
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 1000)
	start := make(chan struct{})
	for range 1000 {
		wg.Go(func() {
			<-start
			req := httptestRequest("GET", "/v1/credentials/dev", map[string]string{"Authorization": c.Token})
			rec := newRecorder()
			h.ServeHTTP(rec, req)
			answers <- answer{rec.Code, rec.Body.String()}
		})
	}
	close(start)
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.code != 200 {
			t.Fatalf("a request got %d: %s", a.code, a.body)
		}
	}
	if n := dev.calls(t); n != 1 {
		t.Errorf("credential_process ran %d times for 1000 concurrent cold requests, want 1", n)
	}
	// And the next request is served from the cache.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.D.Current(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if n := dev.calls(t); n != 1 {
		t.Errorf("credential_process ran %d times, want 1", n)
	}
}
