package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// The JavaScript SDK v3 judges: testdata/js/creds.mjs runs one provider of
// @aws-sdk/credential-providers (version pinned in testdata/js/package.json,
// installed by `npm ci --prefix e2e/testdata/js`) and prints what it got.

// jsCreds is what creds.mjs prints.
type jsCreds struct {
	AccessKeyID     string   `json:"accessKeyId"`
	SecretAccessKey string   `json:"secretAccessKey"`
	SessionToken    string   `json:"sessionToken"`
	Expiration      string   `json:"expiration"`
	AccountID       *string  `json:"accountId"`
	Features        []string `json:"features"`
}

// requireJSSDK returns node and the absolute testdata/js directory, or skips
// (fails under CREDD_REQUIRE_PEERS=1) when node or the npm install is
// missing.
func requireJSSDK(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	requirePeer(t, "node", err)
	dir, err = filepath.Abs(filepath.Join("testdata", "js"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "@aws-sdk", "credential-providers", "package.json"))
	requirePeer(t, "@aws-sdk/credential-providers in e2e/testdata/js/node_modules (run `npm ci --prefix e2e/testdata/js`)", err)
	var v struct{ Version string }
	if err := json.Unmarshal(pkg, &v); err != nil {
		t.Fatalf("installed @aws-sdk/credential-providers: %v", err)
	}
	t.Logf("@aws-sdk/credential-providers %s", v.Version)
	return node, dir
}

// TestJSSDK has the JavaScript SDK's providers fetch credentials from credd
// through IMDS (fromInstanceMetadata) and the container endpoint
// (fromContainerMetadata, and fromHttp, which the default chain tries
// first), and the default chain (fromNodeProviderChain) through each.
//
// Not covered: a named profile over IMDS. The JS IMDS provider has no
// setting for a role name; it takes the one .../security-credentials/ lists.
func TestJSSDK(t *testing.T) {
	node, dir := requireJSSDK(t)
	c, dev, ops := startTwoFetched(t)
	const imdsFeature, httpFeature = "CREDENTIALS_IMDS", "CREDENTIALS_HTTP"
	for _, tc := range []struct {
		name, mode  string
		env         map[string]string
		want        processProfile
		wantFeature string // recorded by the provider, if it records one
	}{
		{"fromInstanceMetadata, endpoint with trailing slash", "imds", map[string]string{
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.imdsEndpoint(),
		}, dev, imdsFeature},
		{"fromInstanceMetadata, endpoint without trailing slash", "imds", map[string]string{
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.URL,
		}, dev, imdsFeature},
		{"fromContainerMetadata default profile", "container", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, dev, ""},
		{"fromContainerMetadata named profile", "container", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, ops, ""},
		{"fromContainerMetadata on localhost", "container", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://localhost:" + c.Port + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, dev, ""},
		{"fromHttp default profile, token file", "http", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
		}, dev, httpFeature},
		{"fromHttp named profile, token in env", "http", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  c.Token,
		}, ops, httpFeature},
		{"fromNodeProviderChain through imds", "chain", map[string]string{
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.imdsEndpoint(),
		}, dev, ""},
		{"fromNodeProviderChain through container, as credd env sets it", "chain", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials/ops",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":      c.Token,
		}, ops, httpFeature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got jsCreds
			runClient(t, clientEnv(t, tc.env), dir, node, "creds.mjs", tc.mode).decodeOutput(t, &got)
			t.Logf("expiration %s, account %q, features %v", got.Expiration, strOrEmpty(got.AccountID), got.Features)
			if got.Expiration == "" {
				t.Errorf("no expiration: the SDK did not take the credentials as temporary")
			}
			checkClientCreds(t, got.AccessKeyID, got.SecretAccessKey, got.SessionToken, got.Expiration, tc.want)
			if tc.wantFeature != "" && !slices.Contains(got.Features, tc.wantFeature) {
				t.Errorf("features %v, want %s: the credentials came another way", got.Features, tc.wantFeature)
			}
		})
	}
}

// TestJSSDKErrors: the JS providers report an error, not credentials, when
// credd refuses them; and fromContainerMetadata really ignores the token
// file (why `credd env` sets AWS_CONTAINER_AUTHORIZATION_TOKEN too).
func TestJSSDKErrors(t *testing.T) {
	node, dir := requireJSSDK(t)
	c, _, _ := startTwo(t)
	for _, tc := range []struct {
		name, mode string
		env        map[string]string
		wantInErr  string
	}{
		{"fromContainerMetadata, wrong token", "container", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  "wrong",
		}, "status 401"},
		{"fromContainerMetadata, token file only: it sends no token", "container", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
		}, "status 401"},
		{"fromHttp, wrong token", "http", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI": c.URL + "/v1/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":  "wrong",
		}, "401"},
		{"fromHttp, unknown profile", "http", map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     c.URL + "/v1/credentials/nope",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": c.TokenPath,
		}, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runClient(t, clientEnv(t, tc.env), dir, node, "creds.mjs", tc.mode)
			r.wantFailure(t, tc.wantInErr)
			t.Logf("node said: %s", lastStderrLine(r.Stderr))
		})
	}
}
