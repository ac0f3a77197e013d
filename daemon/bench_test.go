package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/config"
	"github.com/credd/credd/cred"
	"github.com/credd/credd/imds"
	"github.com/credd/credd/internal/credproctest"
	"github.com/credd/credd/peer"
)

// Benchmarks of the credentials hot path with what production adds to
// imds/bench_test.go: the daemon's Prometheus metrics, and (BenchmarkDaemon)
// the daemon's provider and a real refresher serving credentials it got
// from a credential_process and cached. Run:
//
//	go test -run '^$' -bench . -benchmem ./daemon/

const (
	benchProfileName = "bench"
	benchToken       = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// benchW is a minimal reusable ResponseWriter.
type benchW struct {
	h    http.Header
	code int
	n    int
}

func (w *benchW) Header() http.Header { return w.h }
func (w *benchW) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchW) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// WriteString is what net/http's writer offers too (the cached documents
// write the session token with it).
func (w *benchW) WriteString(s string) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(s)
	return len(s), nil
}

func (w *benchW) reset() { clear(w.h); w.code, w.n = 0, 0 }

type benchProvider struct{ c cred.Credentials }

func (p benchProvider) Current(_ context.Context, profile string) (cred.Credentials, error) {
	if profile != benchProfileName {
		return cred.Credentials{}, cred.ErrUnknownProfile
	}
	return p.c, nil
}

func benchIMDSToken(b *testing.B, h http.Handler) string {
	b.Helper()
	req := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:9955/latest/api/token", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// benchPaths runs the IMDS and container credentials GETs against h.
func benchPaths(b *testing.B, h http.Handler) {
	benchPathsCtx(b, h, context.Background())
}

// benchPathsCtx is benchPaths with requests of context ctx (a connection's,
// as the server's ConnContext tags it).
func benchPathsCtx(b *testing.B, h http.Handler, ctx context.Context) {
	tok := benchIMDSToken(b, h)
	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"imds", func() *http.Request {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:9955/latest/meta-data/iam/security-credentials/"+benchProfileName, nil)
			r.Header.Set("X-Aws-Ec2-Metadata-Token", tok)
			return r
		}},
		{"container", func() *http.Request {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:9955/v1/credentials/"+benchProfileName, nil)
			r.Header.Set("Authorization", benchToken)
			return r
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &benchW{h: make(http.Header, 8)}
			req := c.req()
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK || w.n == 0 {
				b.Fatalf("warm-up: status %d, %d bytes", w.code, w.n)
			}
			b.SetBytes(int64(w.n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
			}
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &benchW{h: make(http.Header, 8)}
				req := c.req()
				ran := false
				for pb.Next() {
					w.reset()
					h.ServeHTTP(w, req)
					ran = true
				}
				if ran && w.code != http.StatusOK {
					b.Errorf("status %d", w.code)
				}
			})
		})
	}
}

// BenchmarkHandlerMetrics is the imds handler with a static provider and
// the daemon's real Prometheus metrics.
func BenchmarkHandlerMetrics(b *testing.B) {
	m, err := newMetrics(prometheus.NewRegistry(), &Daemon{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	clientToken := []byte(benchToken)
	h := imds.New(imds.Options{
		Provider: benchProvider{cred.Credentials{
			AccessKeyID:     "ASIABENCHMARKKEY0001",
			SecretAccessKey: strings.Repeat("s", 40),
			SessionToken:    strings.Repeat("T", 800),
			Expires:         now.Add(time.Hour),
			Issued:          now,
			AccountID:       "123456789012",
		}},
		DefaultProfile: benchProfileName,
		Region:         "eu-west-1",
		ClientToken:    func() []byte { return clientToken },
		Metrics:        m,
	})
	benchPaths(b, h)
}

// BenchmarkDaemon is the whole daemon: daemon.New with an aws_profile
// resolved by the AWS SDK from a credential_process, the refresher running,
// credentials fetched once before timing and then served from its cache.
func BenchmarkDaemon(b *testing.B) {
	d := newBenchDaemon(b, nil)
	benchPaths(b, d.Handler())
}

// BenchmarkAttribution is what knowing who is asking costs each request
// of a keep-alive connection once its owner is known (the lookup is once
// per connection, at its first request: peer's BenchmarkAttribute): the
// daemon of BenchmarkDaemon with an audit log, serving requests that
// carry their connection as the server's ConnContext tags it (the
// allow_users check; an audit line naming the user, process, listener and
// remote address), against the same daemon serving requests that carry
// none (no check, no line: what credd did before attribution).
func BenchmarkAttribution(b *testing.B) {
	self, err := peer.Self()
	if err != nil {
		b.Fatal(err)
	}
	exe, _ := os.Executable()
	local, remote := netip.MustParseAddrPort("127.0.0.1:9955"), netip.MustParseAddrPort("127.0.0.1:40000")
	fake := &peer.Fake{}
	fake.Set(remote, self, peer.Process{PID: os.Getpid(), Exe: exe,
		Cmdline: []string{exe, "--profile", benchProfileName, "--region", "eu-west-1", "s3", "ls", "s3://a-bucket/with/a/prefix"}})
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	log, err := audit.Open(audit.Options{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Close() })
	d := newBenchDaemon(b, func(deps *Deps) { deps.Audit, deps.Peers, deps.Self = log, fake, self })
	ln := &listener{addr: local.String(), main: true, d: d}
	ln.policy.Store(&listenPolicy{})
	cn := &conn{ln: ln, local: local, remote: remote}
	b.Run("attributed", func(b *testing.B) {
		benchPathsCtx(b, d.Handler(), context.WithValue(context.Background(), connKey{}, cn))
		if err := log.Flush(); err != nil {
			b.Fatal(err)
		}
		// The last line only: reading them all would cost more than the
		// requests did, in the same process.
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
		var last audit.Entry
		if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil {
			b.Fatal(err)
		}
		if last.Status != http.StatusOK || last.UID != self || last.PID != os.Getpid() || last.Remote != remote.String() {
			b.Fatalf("last audit line %+v, want an answer to this process", last)
		}
	})
	bare := newBenchDaemon(b, nil)
	b.Run("unattributed", func(b *testing.B) {
		benchPaths(b, bare.Handler())
	})
}

// newBenchDaemon runs a daemon (without listeners) until the benchmark
// ends; mod, if not nil, changes its dependencies.
func newBenchDaemon(b *testing.B, mod func(*Deps)) *Daemon {
	b.Helper()
	// Nothing in the environment may steer the SDK away from the profile.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			b.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	dir := b.TempDir()
	script := credproctest.Command(b, credproctest.Spec{
		Output: credproctest.Document("ASIABENCHMARKKEY0001", strings.Repeat("s", 40), strings.Repeat("T", 800), time.Now().Add(time.Hour))})
	awsCfg := filepath.Join(dir, "aws-config")
	awsCreds := filepath.Join(dir, "aws-credentials")
	for path, content := range map[string]string{
		awsCfg:   fmt.Sprintf("[profile %s]\nregion = eu-west-1\ncredential_process = %s\n", benchProfileName, script),
		awsCreds: "",
	} {
		if err := os.WriteFile(path, []byte(content), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := config.Parse(strings.NewReader(fmt.Sprintf("profiles:\n  %s: {aws_profile: %s}\n", benchProfileName, benchProfileName)))
	if err != nil {
		b.Fatal(err)
	}
	cfg.StateDir = filepath.Join(dir, "state")
	// Run serves a listener; the benchmarks call the handler directly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	deps := Deps{
		Registerer:         prometheus.NewRegistry(),
		AWSConfigFiles:     []string{awsCfg},
		AWSCredentialFiles: []string{awsCreds},
		UserName:           "bench",
		ClientToken:        []byte(benchToken),
	}
	if mod != nil {
		mod(&deps)
	}
	d, err := New(ctx, cfg, deps)
	if err != nil {
		cancel()
		ln.Close()
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Run(ctx, ln) })
	b.Cleanup(func() { cancel(); wg.Wait() })
	// Warm the cache: the first Current runs the credential_process.
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	c, err := d.Current(wctx, benchProfileName)
	if err != nil {
		b.Fatalf("warming the refresher: %v", err)
	}
	if c.AccessKeyID != "ASIABENCHMARKKEY0001" {
		b.Fatalf("credentials from the wrong source: key %q", c.AccessKeyID)
	}
	return d
}
