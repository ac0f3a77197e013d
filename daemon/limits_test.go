package daemon

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// rawGet sends a GET /healthz whose head (request line, headers, blank
// line) is exactly size bytes, padded with one header, and returns the
// status.
func rawGet(t *testing.T, addr string, size int) int {
	t.Helper()
	head := "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Pad: "
	tail := "\r\n\r\n"
	pad := size - len(head) - len(tail)
	if pad < 0 {
		t.Fatalf("size %d is too small for the request", size)
	}
	req := head + strings.Repeat("a", pad) + tail
	if len(req) != size {
		t.Fatalf("built %d bytes, want %d", len(req), size)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to a %d-byte head: %v", size, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRequestHeadLimitIsWhatTheDocsSay: docs/security.md caps a request's
// head at 16 KiB (431 beyond). net/http allows 4 KiB more than
// Server.MaxHeaderBytes, so the limit must be measured on the wire, at
// the byte.
func TestRequestHeadLimitIsWhatTheDocsSay(t *testing.T) {
	r := start(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"))
	addr := strings.TrimPrefix(r.url, "http://")
	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"a small head", 200, http.StatusOK},
		{"exactly 16 KiB", MaxRequestHead, http.StatusOK},
		{"one byte more", MaxRequestHead + 1, http.StatusRequestHeaderFieldsTooLarge},
		{"4 KiB more (net/http's slop)", MaxRequestHead + 4096, http.StatusRequestHeaderFieldsTooLarge},
		{"64 KiB", 64 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawGet(t, addr, tc.size); got != tc.want {
				t.Errorf("a %d-byte request head got %d, want %d", tc.size, got, tc.want)
			}
		})
	}
	if MaxRequestHead != 16<<10 {
		t.Errorf("MaxRequestHead = %d, but docs/security.md says 16 KiB", MaxRequestHead)
	}
}

// acceptRecorder hands every accepted connection to the test as well.
type acceptRecorder struct {
	net.Listener
	conns chan net.Conn
}

func (l acceptRecorder) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		select {
		case l.conns <- c:
		default:
		}
	}
	return c, err
}

// TestHopLimitOnAcceptedConnections: every connection Run accepts sends
// its packets with IP TTL (IPv6 hop limit) imds.hop_limit, 1 unless set,
// as EC2's metadata service does, on the loopback listener and on extra
// ones alike.
func TestHopLimitOnAcceptedConnections(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network string
		listen  string // "" skips the case when the family is missing
		yaml    string
		want    int
	}{
		{"default on IPv4", "tcp4", "127.0.0.1:0", "", 1},
		{"configured on IPv4", "tcp4", "127.0.0.1:0", "imds: {hop_limit: 3}\n", 3},
		{"default on IPv6", "tcp6", "[::1]:0", "", 1},
		{"configured on IPv6", "tcp6", "[::1]:0", "imds: {hop_limit: 5}\n", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen(tc.network, tc.listen)
			if err != nil {
				t.Skipf("no %s loopback here: %v", tc.network, err)
			}
			rec := acceptRecorder{ln, make(chan net.Conn, 4)}
			r := startOn(t, tc.yaml+"profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"), rec)
			if code, _ := r.get(t, "/healthz", nil); code != http.StatusOK {
				t.Fatalf("healthz: %d", code)
			}
			c := <-rec.conns
			var got int
			if tc.network == "tcp4" {
				got, err = ipv4.NewConn(c).TTL()
			} else {
				got, err = ipv6.NewConn(c).HopLimit()
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("accepted connection sends with TTL %d, want %d", got, tc.want)
			}
		})
	}
}

// startOn is start on a listener the test made.
func startOn(t *testing.T, yaml, awsConfig string, ln net.Listener) *running {
	t.Helper()
	return startWithListener(t, yaml, awsConfig, nil, ln)
}

// TestServerTimeouts: the limits docs/security.md states are the ones the
// server runs with: a client that trickles its request (slowloris) or
// never reads the answer is cut off.
func TestServerTimeouts(t *testing.T) {
	srv := (&Daemon{log: slog.New(slog.DiscardHandler)}).Server()
	for _, tc := range []struct {
		name      string
		got, want time.Duration
	}{
		{"read-header", srv.ReadHeaderTimeout, 5 * time.Second},
		{"read", srv.ReadTimeout, 10 * time.Second},
		{"write", srv.WriteTimeout, 30 * time.Second},
		{"idle", srv.IdleTimeout, 2 * time.Minute},
	} {
		if tc.got != tc.want {
			t.Errorf("%s timeout %s, docs/security.md says %s", tc.name, tc.got, tc.want)
		}
	}
	if srv.MaxHeaderBytes != MaxHeaderBytes {
		t.Errorf("MaxHeaderBytes %d, want %d", srv.MaxHeaderBytes, MaxHeaderBytes)
	}
}

// BenchmarkServerTimeouts is what the slow-client timeouts of the
// daemon's http.Server (read-header, read, write and idle, as
// docs/security.md states) cost a keep-alive request: the daemon's
// Server() and the same without timeouts serving one small answer over
// loopback to one client connection, request after request. deadlines/op
// is how often net/http moved the connection's deadlines per request,
// and future/op how many of those were to a future time (a clock read
// and a timer moved each). Run:
//
//	go test -run '^$' -bench ServerTimeouts -cpu 1 -count 5 ./daemon/
func BenchmarkServerTimeouts(b *testing.B) {
	body := []byte(strings.Repeat("x", 1300))
	for _, tc := range []struct {
		name     string
		timeouts bool
	}{{"daemon", true}, {"none", false}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := (&Daemon{log: slog.New(slog.DiscardHandler)}).Server()
			srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
			if !tc.timeouts {
				srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = 0, 0, 0, 0
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			counted := &deadlineCounter{Listener: ln}
			go func() { _ = srv.Serve(counted) }()
			defer srv.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
			br := bufio.NewReader(c)
			get := func() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := br.Discard(int(resp.ContentLength))
				if resp.StatusCode != http.StatusOK || n != len(body) {
					b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
				}
			}
			get()
			before, beforeFuture := counted.total.Load(), counted.future.Load()
			b.ResetTimer()
			for b.Loop() {
				get()
			}
			b.StopTimer()
			// The last request's idle and header deadlines come after
			// its answer: let them land before counting.
			time.Sleep(10 * time.Millisecond)
			b.ReportMetric(float64(counted.total.Load()-before)/float64(b.N), "deadlines/op")
			b.ReportMetric(float64(counted.future.Load()-beforeFuture)/float64(b.N), "future/op")
		})
	}
}

// deadlineCounter counts the deadlines set on the connections it accepts.
type deadlineCounter struct {
	net.Listener
	total, future atomic.Int64
}

func (l *deadlineCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, l: l}, nil
}

type deadlineConn struct {
	net.Conn
	l *deadlineCounter
}

func (c *deadlineConn) count(t time.Time) {
	c.l.total.Add(1)
	if t.After(time.Now()) {
		c.l.future.Add(1)
	}
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.count(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.count(t)
	return c.Conn.SetWriteDeadline(t)
}
