package imds_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/cred"
	"github.com/credd/credd/imds"
)

// Benchmarks of the credentials hot path: guard, token or Authorization
// check, Provider.Current, encoding and writing, through Handler.ServeHTTP.
// The provider is static and Metrics is nil, so these measure the handler
// alone; daemon/bench_test.go adds the Prometheus metrics and the real
// refresher. Run:
//
//	go test -run '^$' -bench . -benchmem ./imds/

const benchProfile = "bench"

// benchCreds are shaped like real STS session credentials: a 20-character
// key ID, a 40-character secret and a session token of a realistic length.
func benchCreds() cred.Credentials {
	now := time.Now()
	return cred.Credentials{
		AccessKeyID:     "ASIABENCHMARKKEY0001",
		SecretAccessKey: strings.Repeat("s", 40),
		SessionToken:    strings.Repeat("T", 800),
		Expires:         now.Add(time.Hour),
		Issued:          now,
		AccountID:       "123456789012",
		RoleARN:         "arn:aws:iam::123456789012:role/bench",
		Kind:            cred.KindRole,
	}
}

type benchProvider struct{ c cred.Credentials }

func (p benchProvider) Current(_ context.Context, profile string) (cred.Credentials, error) {
	if profile != benchProfile {
		return cred.Credentials{}, cred.ErrUnknownProfile
	}
	return p.c, nil
}

// benchWriter is a minimal reusable ResponseWriter, so that the benchmark
// does not measure httptest.ResponseRecorder's own allocations.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func newBenchWriter() *benchWriter { return &benchWriter{h: make(http.Header, 8)} }

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// WriteString is what net/http's writer offers too (the cached documents
// write the session token with it).
func (w *benchWriter) WriteString(s string) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(s)
	return len(s), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

const benchClientToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func newBenchHandler() *imds.Handler {
	clientToken := []byte(benchClientToken)
	return imds.New(imds.Options{
		Provider:       benchProvider{benchCreds()},
		DefaultProfile: benchProfile,
		Region:         "eu-west-1",
		ClientToken:    func() []byte { return clientToken },
	})
}

// benchIMDSToken gets an IMDSv2 session token the way an SDK does.
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

func benchIMDSRequest(token string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9955/latest/meta-data/iam/security-credentials/"+benchProfile, nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token", token)
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.0 bench")
	return req
}

func benchContainerRequest() *http.Request {
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9955/v1/credentials/"+benchProfile, nil)
	req.Header.Set("Authorization", benchClientToken)
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.0 bench")
	return req
}

// runServe serves req b.N times, serially or from GOMAXPROCS goroutines.
func runServe(b *testing.B, h http.Handler, newReq func() *http.Request, parallel bool) {
	b.Helper()
	w := newBenchWriter()
	h.ServeHTTP(w, newReq())
	if w.code != http.StatusOK || w.n == 0 {
		b.Fatalf("warm-up request: status %d, %d bytes", w.code, w.n)
	}
	b.SetBytes(int64(w.n))
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		req := newReq()
		for b.Loop() {
			w.reset()
			h.ServeHTTP(w, req)
		}
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		w := newBenchWriter()
		req := newReq()
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
}

func BenchmarkIMDSCredentials(b *testing.B) {
	h := newBenchHandler()
	tok := benchIMDSToken(b, h)
	newReq := func() *http.Request { return benchIMDSRequest(tok) }
	b.Run("serial", func(b *testing.B) { runServe(b, h, newReq, false) })
	b.Run("parallel", func(b *testing.B) { runServe(b, h, newReq, true) })
}

func BenchmarkContainerCredentials(b *testing.B) {
	h := newBenchHandler()
	b.Run("serial", func(b *testing.B) { runServe(b, h, benchContainerRequest, false) })
	b.Run("parallel", func(b *testing.B) { runServe(b, h, benchContainerRequest, true) })
}
