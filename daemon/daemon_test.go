package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credd/credd/config"
	"github.com/credd/credd/internal/ststest"
)

// processProfile writes an AWS config profile whose credential_process
// prints temporary credentials, and returns the config section.
func processProfile(t *testing.T, name, key, secret, token string) string {
	t.Helper()
	return processProfileExpiring(t, name, key, secret, token, time.Now().Add(time.Hour))
}

type running struct {
	d    *Daemon
	url  string
	reg  *prometheus.Registry
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, yaml, awsConfig string) *running {
	t.Helper()
	return startWith(t, yaml, awsConfig, nil)
}

// startWith is start with a hook on the daemon's dependencies.
func startWith(t *testing.T, yaml, awsConfig string, mod func(*Deps)) *running {
	t.Helper()
	return startWithListener(t, yaml, awsConfig, mod, nil)
}

// startWithListener is startWith serving on ln (nil: a new listener on
// 127.0.0.1).
// testRequestWait is how long the tests' requests wait for a fetch: a
// credential_process helper's first run takes more than the 3 s default
// on a loaded machine, and more still under wine (cmd.exe, then the
// helper, each a Windows process to start).
const testRequestWait = time.Minute

func startWithListener(t *testing.T, yaml, awsConfig string, mod func(*Deps), ln net.Listener) *running {
	t.Helper()
	dir := t.TempDir()
	awsCfg := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(awsCfg, []byte(awsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Listen = ln.Addr().String()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	deps := Deps{
		Logger:             slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:         reg,
		Gatherer:           reg,
		AWSConfigFiles:     []string{awsCfg},
		AWSCredentialFiles: []string{filepath.Join(dir, "none")},
		UserName:           "Tester Name",
		ClientToken:        []byte("client-token-0123456789abcdef0123"),
		RequestWait:        testRequestWait,
	}
	if mod != nil {
		mod(&deps)
	}
	d, err := New(t.Context(), cfg, deps)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &running{d: d, url: "http://" + cfg.Listen, reg: reg, logs: logs}
}

func (r *running) get(t *testing.T, path string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.url+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

var auth = map[string]string{"Authorization": "client-token-0123456789abcdef0123"}

// TestChainSharesTheSourceRefresher: ops assumes a role with base's
// credentials; base is fetched once however often both are served.
func TestChainSharesTheSourceRefresher(t *testing.T) {
	sts := ststest.New(t)
	r := start(t, fmt.Sprintf(`
sts: {endpoint: %q}
default_profile: ops
profiles:
  keys: {aws_profile: keys}
  base: {source_profile: keys, role_arn: "arn:aws:iam::111122223333:role/base"}
  ops: {source_profile: base, role_arn: "arn:aws:iam::444455556666:role/ops", external_id: ext-1}
`, sts.URL), "[profile keys]\naws_access_key_id = AKIAKEYS\naws_secret_access_key = keys-secret\n")
	for _, p := range []string{"ops", "base", "ops", "base"} {
		if code, body := r.get(t, "/v1/credentials/"+p, auth); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	reqs := sts.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d STS calls, want 2 (base once, ops once)", len(reqs))
	}
	if reqs[0].Get("RoleArn") != "arn:aws:iam::111122223333:role/base" || reqs[1].Get("RoleArn") != "arn:aws:iam::444455556666:role/ops" {
		t.Errorf("calls: %v", reqs)
	}
	if reqs[1].Get("DurationSeconds") != "3600" || reqs[1].Get("ExternalId") != "ext-1" {
		t.Errorf("ops call: %v", reqs[1])
	}
	if got := reqs[0].Get("RoleSessionName"); got != "Tester-Name" {
		t.Errorf("default session name = %q, want the sanitized user name", got)
	}
	if a := sts.Auth(); !strings.Contains(a[0], "Credential=AKIAKEYS/") || !strings.Contains(a[1], "Credential=ASIAFAKEASSUMEROLE/") {
		t.Errorf("signers: %q", a)
	}
}

func TestLogsAndMetricsNeverCarrySecrets(t *testing.T) {
	r := start(t, "profiles:\n  dev: {aws_profile: dev}\n  keys: {aws_profile: keys}\n",
		processProfile(t, "dev", "ASIAVISIBLE1", "SECRET-in-logs-would-be-a-bug", "TOKEN-in-logs-would-be-a-bug")+
			"[profile keys]\naws_access_key_id = AKIALONGTERM\naws_secret_access_key = LONGTERM-SECRET-never-logged\n")
	code, body := r.get(t, "/v1/credentials/dev", auth)
	if code != 200 || !strings.Contains(body, "SECRET-in-logs-would-be-a-bug") {
		t.Fatalf("%d %s", code, body)
	}
	code, body = r.get(t, "/v1/credentials/keys", auth) // STS is unreachable: 503
	if code != 503 || strings.Contains(body, "LONGTERM-SECRET") {
		t.Fatalf("%d %s", code, body)
	}
	_, metrics := r.get(t, "/metrics", nil)
	for name, out := range map[string]string{"logs": r.logs.String(), "metrics": metrics} {
		for _, secret := range []string{"SECRET-in-logs-would-be-a-bug", "TOKEN-in-logs-would-be-a-bug", "LONGTERM-SECRET-never-logged", "client-token-0123456789abcdef0123", "AKIALONGTERM"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s contain %q", name, secret)
			}
		}
	}
	if !strings.Contains(r.logs.String(), `"msg":"refreshed"`) || !strings.Contains(r.logs.String(), `"profile":"dev"`) {
		t.Errorf("logs miss the refresh:\n%s", r.logs)
	}
}

func TestMetrics(t *testing.T) {
	r := start(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"))
	r.get(t, "/v1/credentials/dev", auth)
	r.get(t, "/v1/credentials/dev", auth)
	r.get(t, "/v1/credentials/nope", auth)
	r.get(t, "/v1/credentials", nil)
	want := `
# HELP credd_requests_total HTTP requests served, by endpoint, profile and status code.
# TYPE credd_requests_total counter
credd_requests_total{code="200",endpoint="container",profile="dev"} 2
credd_requests_total{code="401",endpoint="container",profile=""} 1
credd_requests_total{code="404",endpoint="container",profile=""} 1
# HELP credd_refreshes_total Upstream credential fetches, by profile and result (ok or error).
# TYPE credd_refreshes_total counter
credd_refreshes_total{profile="dev",result="ok"} 1
`
	if err := testutil.GatherAndCompare(r.reg, strings.NewReader(want), "credd_requests_total", "credd_refreshes_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(stateCollector{r.d}, "credd_refresher_state"); n != len(allStates) {
		t.Errorf("%d state series for one profile, want %d", n, len(allStates))
	}
	if err := testutil.GatherAndCompare(r.reg, strings.NewReader(`
# HELP credd_refresher_state 1 for each profile's current refresher state.
# TYPE credd_refresher_state gauge
credd_refresher_state{profile="dev",state="error"} 0
credd_refresher_state{profile="dev",state="expired"} 0
credd_refresher_state{profile="dev",state="fresh"} 1
credd_refresher_state{profile="dev",state="idle"} 0
credd_refresher_state{profile="dev",state="login-required"} 0
credd_refresher_state{profile="dev",state="mfa-required"} 0
credd_refresher_state{profile="dev",state="refreshing"} 0
credd_refresher_state{profile="dev",state="stale"} 0
`), "credd_refresher_state"); err != nil {
		t.Error(err)
	}
}

func TestInvalidConfigIsRefused(t *testing.T) {
	cfg := config.Default()
	cfg.Listen = "0.0.0.0:1"
	if _, err := New(t.Context(), cfg, Deps{}); err == nil || !strings.Contains(err.Error(), "listen: must be a loopback address") {
		t.Errorf("err = %v", err)
	}
}

func TestDefaultProfile(t *testing.T) {
	p := config.Profile{AWSProfile: "x"}
	for _, tc := range []struct {
		name     string
		def      string
		profiles []string
		want     string
	}{
		{"configured", "b", []string{"a", "b"}, "b"},
		{"the only profile", "", []string{"solo"}, "solo"},
		{"one named default", "", []string{"a", "default"}, "default"},
		{"ambiguous", "", []string{"a", "b"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DefaultProfile = tc.def
			cfg.Profiles = map[string]config.Profile{}
			for _, n := range tc.profiles {
				cfg.Profiles[n] = p
			}
			if got := DefaultProfile(cfg); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestServedSummaryInTheLog(t *testing.T) {
	r := start(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"))
	r.get(t, "/v1/credentials/dev", auth)
	r.get(t, "/v1/credentials/dev", auth)
	r.get(t, "/v1/credentials/dev", nil)
	r.d.logSummary()
	logs := r.logs.String()
	if !strings.Contains(logs, `"msg":"served","profile":"dev","ok":2,"failed":0`) {
		t.Errorf("no summary for dev:\n%s", logs)
	}
	if !strings.Contains(logs, `"msg":"served","profile":"(none)","ok":0,"failed":1`) {
		t.Errorf("no summary for the unauthorized request:\n%s", logs)
	}
	// The next summary covers only what came since.
	before := strings.Count(r.logs.String(), `"msg":"served"`)
	r.d.logSummary()
	if after := strings.Count(r.logs.String(), `"msg":"served"`); after != before {
		t.Errorf("an idle period produced %d summary lines", after-before)
	}
}
