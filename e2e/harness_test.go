package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/config"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/internal/credproctest"
	"github.com/credd/credd/internal/peertest"
)

// credd is a daemon running for one test.
type credd struct {
	URL       string // http://127.0.0.1:PORT
	Port      string
	TokenPath string
	Token     string
	Dir       string
	D         *daemon.Daemon
	Reg       *prometheus.Registry
}

// setup is what a creddOption may change before the daemon starts.
type setup struct {
	cfg       *config.Config
	deps      *daemon.Deps
	listeners *[]net.Listener // the loopback one first; extra ones after, as cfg.ExtraListen
}

type creddOption func(*testing.T, setup)

// requestWait is how long the tests' requests wait for a fetch (startCredd
// and `credd serve` in process), instead of the endpoints' 3 s: a
// credential_process helper's first run is cmd.exe and then the helper,
// each a Windows process that wine starts slowly (measured here: a cold
// fetch 0.8 to 1.8 s, the shutdown test's request with its 1 s helper 1.4
// to 1.9 s), and more on a loaded machine, where the 3 s runs out: the
// cold-profile and graceful-shutdown tests each got a 503 once under wine,
// and a helper that takes 3.5 s gives both 503 "still fetching". The
// daemon tests wait as long (daemon: testRequestWait).
const requestWait = time.Minute

// startCredd runs a daemon with cfgYAML (listen and state_dir are filled
// in) and awsConfig as the shared AWS config file, on a free loopback port.
// It stops when the test ends.
func startCredd(t *testing.T, cfgYAML, awsConfig string, opts ...creddOption) *credd {
	t.Helper()
	dir := t.TempDir()
	awsCfgPath := filepath.Join(dir, "aws-config")
	awsCredPath := filepath.Join(dir, "aws-credentials")
	writeFile(t, awsCfgPath, awsConfig)
	writeFile(t, awsCredPath, "")
	cfg, err := config.Parse(strings.NewReader(cfgYAML))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	cfg.StateDir = filepath.Join(dir, "state")
	tokenPath, token, err := daemon.EnsureToken(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deps := daemon.Deps{
		Registerer:         reg,
		Gatherer:           reg,
		AWSConfigFiles:     []string{awsCfgPath},
		AWSCredentialFiles: []string{awsCredPath},
		UserName:           "e2e-tester",
		ClientToken:        token,
		RequestWait:        requestWait,
	}
	lns := []net.Listener{ln}
	for _, o := range opts {
		o(t, setup{cfg: &cfg, deps: &deps, listeners: &lns})
	}
	d, err := daemon.New(t.Context(), cfg, deps)
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := d.Run(ctx, lns...); err != nil {
			t.Errorf("daemon.Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	_, port, _ := net.SplitHostPort(cfg.Listen)
	return &credd{URL: "http://" + cfg.Listen, Port: port, TokenPath: tokenPath, Token: string(token), Dir: dir, D: d, Reg: reg}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile renames tmp over path, as an editor saves. On Windows a
// rename over a file that another process holds open without sharing
// delete access (Go's os.Open and os.ReadFile, which credd and the SDK
// read the config files with) is refused with ERROR_ACCESS_DENIED: credd
// reading the file for a reload the previous edit started made
// TestReloadKeepsServing's next rename fail once under wine. The reader
// holds it for milliseconds; the rename is tried again for up to 10 s.
func replaceFile(t *testing.T, tmp, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		err := os.Rename(tmp, path)
		if err == nil {
			return
		}
		if runtime.GOOS != "windows" || !errors.Is(err, fs.ErrPermission) || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// processProfile is an AWS config profile whose credential_process prints
// temporary credentials expiring in an hour and counts its calls in a file,
// so tests can count upstream fetches. The SDK resolves it: no fake here.
type processProfile struct {
	AccessKeyID, Secret, SessionToken string
	Expires                           time.Time
	CountFile                         string
}

func newProcessProfile(t *testing.T, name string) (processProfile, string) {
	t.Helper()
	dir := t.TempDir()
	p := processProfile{
		AccessKeyID:  "ASIA" + strings.ToUpper(name) + "E2EKEY0001",
		Secret:       "secret-" + name + "-e2e",
		SessionToken: "session-" + name + "-e2e-token",
		Expires:      time.Now().Add(time.Hour).UTC().Truncate(time.Second),
		CountFile:    filepath.Join(dir, "count"),
	}
	cmd := credproctest.Command(t, credproctest.Spec{CountFile: p.CountFile,
		Output: credproctest.Document(p.AccessKeyID, p.Secret, p.SessionToken, p.Expires)})
	section := fmt.Sprintf("[profile %s]\nregion = eu-west-1\ncredential_process = %s\n", name, cmd)
	return p, section
}

// calls counts how often the credential_process ran.
func (p processProfile) calls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(p.CountFile)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("x"))
}

// cleanAWSEnv clears every variable that would steer an SDK away from the
// provider under test, and points the shared files at empty ones.
func cleanAWSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "")
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_REGION", "us-east-1")
}

// imdsEndpoint is the IMDS endpoint override, with the trailing slash old
// botocore needs (DESIGN.md §7).
func (c *credd) imdsEndpoint() string { return c.URL + "/" }

func (c *credd) get(t *testing.T, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// requirePeer skips when a peer is missing, or fails under
// CREDD_REQUIRE_PEERS=1 (see internal/peertest).
func requirePeer(t *testing.T, what string, err error) {
	t.Helper()
	peertest.Require(t, what, err)
}

// goSDKFromContainer has aws-sdk-go-v2's default chain resolve credentials
// with the container endpoint variables set (uri, and tokenVar =
// tokenValue: the token file or the token itself), and fails unless they
// came from the container provider. The caller clears the rest of the
// environment (cleanAWSEnv).
func goSDKFromContainer(t *testing.T, uri, tokenVar, tokenValue string) (aws.Config, aws.Credentials) {
	t.Helper()
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
	t.Setenv(tokenVar, tokenValue)
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	if got.Source != endpointcreds.ProviderName {
		t.Errorf("source = %q, want %q", got.Source, endpointcreds.ProviderName)
	}
	return cfg, got
}

// waitFor polls cond until it holds: for what credd does asynchronously
// (file watches, background renewal, shutdown). The bound only turns a
// hang into a failure, also on a machine loaded by other packages' tests.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
