// Command credd-load measures credd: by default its credentials endpoint
// against a bare net/http handler, in one process, over loopback; with
// `credd-load footprint`, the real binary's memory, start, reload and idle
// CPU as the number of profiles grows (footprint.go); with `credd-load
// wrk`, the real binary under wrk against a bare handler and a peer
// server (wrk.go); with `credd-load soak`, the real binary served to
// clients without pause while a fake STS fails at random (soak.go).
//
// It starts credd's real stack (daemon.New with an aws_profile whose
// credentials come from a credential_process, so that the SDK resolution and
// the refresher are the production ones, served by daemon.Run on a real
// listener), and a bare handler that writes a fixed body of the same size
// with the same headers, served by an http.Server with the same settings as
// credd's. Both listen on 127.0.0.1:0. Then it drives each in turn with -c
// keep-alive connections for -d, alternating the order over -rounds rounds
// to cancel drift, and prints requests/s and latency percentiles for both
// and the ratio credd/bare. With -baseline unattributed, the other target
// is a second credd without the OS's attribution and the audit log, so the
// ratio is what knowing who is asking costs.
//
// The clients speak HTTP/1.1 directly over TCP (like wrk): they fetch one
// IMDSv2 token first and reuse it, as SDKs do, then send the IMDS
// credentials GET back to back. A cheap client leaves more of the CPU to
// the servers, which makes the comparison stricter. The load generator
// shares the machine's CPUs with both servers in the same way for both
// targets, so the ratio is fair; the absolute numbers are lower than a
// separate client machine would see.
//
// Traffic goes only to 127.0.0.1. The command stops by itself after
// 2 × rounds × (warmup + d). It exits 1 when the ratio is below -min-ratio,
// 2 on errors.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/audit"
	"github.com/credd/credd/config"
	"github.com/credd/credd/daemon"
	"github.com/credd/credd/peer"
)

const profileName = "load"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	conns      int
	dur        time.Duration
	warmup     time.Duration
	rounds     int
	minRatio   float64
	cpuProfile string
	baseline   string
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "footprint" {
		return runFootprint(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "wrk" {
		return runWrk(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "soak" {
		return runSoak(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("credd-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.conns, "c", 16, "concurrent keep-alive connections")
	fs.DurationVar(&o.dur, "d", 5*time.Second, "measured duration per target per round")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up per target before the rounds")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures both targets, in alternating order")
	fs.Float64Var(&o.minRatio, "min-ratio", 0, "exit 1 if credd's requests/s divided by the bare handler's is below this")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole process (servers and clients) to this file")
	fs.StringVar(&o.baseline, "baseline", "bare", "what credd is compared with: bare (a net/http handler writing the same answer) or unattributed (credd without the OS's attribution and the audit log)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.baseline != "bare" && o.baseline != "unattributed" {
		fmt.Fprintln(stderr, "credd-load: -baseline must be bare or unattributed")
		return 2
	}
	if o.conns < 1 || o.dur <= 0 || o.rounds < 1 || o.warmup < 0 {
		fmt.Fprintln(stderr, "credd-load: -c, -d and -rounds must be positive")
		return 2
	}
	ok, err := load(o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "credd-load:", err)
		return 2
	}
	if !ok {
		return 1
	}
	return 0
}

// target is one server under load.
type target struct {
	name string
	addr string
	req  []byte // the raw request every connection sends
}

// result accumulates a target's measured rounds.
type result struct {
	requests int64
	elapsed  time.Duration
	samples  []time.Duration
	rounds   []float64 // requests/s per round
	wire     int       // response bytes on the wire
}

func load(o options, out io.Writer) (bool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	credd, token, closeCredd, err := startCredd(ctx, true)
	if err != nil {
		return false, err
	}
	defer closeCredd()

	// One IMDSv2 session token, reused by every request, as SDKs do.
	imdsToken, body, err := fetchOnce(credd, token)
	if err != nil {
		return false, err
	}
	path := "/latest/meta-data/iam/security-credentials/" + profileName
	mk := func(name, addr, imdsToken string) *target {
		req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: credd-load\r\n" +
			"X-Aws-Ec2-Metadata-Token: " + imdsToken + "\r\nAccept-Encoding: identity\r\n\r\n"
		return &target{name: name, addr: addr, req: []byte(req)}
	}
	var base *target
	if o.baseline == "unattributed" {
		addr, token, closeBase, err := startCredd(ctx, false)
		if err != nil {
			return false, err
		}
		defer closeBase()
		tok, _, err := fetchOnce(addr, token)
		if err != nil {
			return false, err
		}
		base = mk("unattributed", addr, tok)
	} else {
		bare, closeBare, err := startBare(body)
		if err != nil {
			return false, err
		}
		defer closeBare()
		base = mk("bare", bare, imdsToken)
	}
	targets := []*target{mk("credd", credd, imdsToken), base}
	results := map[*target]*result{}
	for _, t := range targets {
		res, err := drive(t, o.conns, o.warmup)
		if err != nil {
			return false, fmt.Errorf("%s warm-up: %w", t.name, err)
		}
		results[t] = &result{wire: res.wire}
	}
	if results[targets[0]].wire != results[targets[1]].wire {
		fmt.Fprintf(out, "note: responses differ on the wire: credd %d bytes, bare %d bytes\n\n", results[targets[0]].wire, results[targets[1]].wire)
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return false, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return false, err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	for round := range o.rounds {
		order := targets
		if round%2 == 1 {
			order = []*target{targets[1], targets[0]}
		}
		for _, t := range order {
			res, err := drive(t, o.conns, o.dur)
			if err != nil {
				return false, fmt.Errorf("%s round %d: %w", t.name, round+1, err)
			}
			acc := results[t]
			acc.requests += res.requests
			acc.elapsed += res.elapsed
			acc.samples = append(acc.samples, res.samples...)
			acc.rounds = append(acc.rounds, float64(res.requests)/res.elapsed.Seconds())
		}
	}

	c, b := results[targets[0]], results[targets[1]]
	ratio := rps(c) / rps(b)
	fmt.Fprintf(out, "credd-load: GOMAXPROCS=%d, %d connections, %s × %d rounds per target, IMDS credentials GET, %d-byte body (%d bytes on the wire)\n\n",
		runtime.GOMAXPROCS(0), o.conns, o.dur, o.rounds, len(body), c.wire)
	fmt.Fprintln(out, "| target | requests | req/s | p50 | p99 | req/s per round |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---|")
	for _, t := range targets {
		r := results[t]
		slices.Sort(r.samples)
		var per []string
		for _, x := range r.rounds {
			per = append(per, strconv.FormatFloat(x, 'f', 0, 64))
		}
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %s |\n", t.name, r.requests, rps(r),
			fmtDur(percentile(r.samples, 50)), fmtDur(percentile(r.samples, 99)), strings.Join(per, ", "))
	}
	// Each round measured both targets back to back, so the per-round
	// ratios cancel slow drift; their median resists a noisy neighbour.
	var per []float64
	for i := range c.rounds {
		per = append(per, c.rounds[i]/b.rounds[i])
	}
	slices.Sort(per)
	median := (per[(len(per)-1)/2] + per[len(per)/2]) / 2
	fmt.Fprintf(out, "\nratio credd/%s (req/s): %.3f (median of per-round ratios %.3f)\n", base.name, ratio, median)
	if o.minRatio > 0 && ratio < o.minRatio {
		fmt.Fprintf(out, "FAIL: ratio %.3f is below -min-ratio %.3f\n", ratio, o.minRatio)
		return false, nil
	}
	return true, nil
}

func rps(r *result) float64 { return float64(r.requests) / r.elapsed.Seconds() }

// percentile of sorted samples, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + " µs"
}

// startCredd runs credd's daemon on 127.0.0.1:0 with one aws_profile whose
// credentials come from a credential_process in a temporary AWS config.
// Attributed, it runs as credd serve does: every connection attributed by
// the OS's resolver, every answer a line of the audit log; else every
// connection is the owner's at once, and nothing is audited (what is left
// of attribution is the check of each request: a context value, two
// atomic loads, a map lookup).
func startCredd(ctx context.Context, attributed bool) (addr string, clientToken []byte, stop func(), err error) {
	// Nothing in the environment may steer the SDK away from the profile
	// (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...).
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	dir, err := os.MkdirTemp("", "credd-load-")
	if err != nil {
		return "", nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	fail := func(err error) (string, []byte, func(), error) { cleanup(); return "", nil, nil, err }

	exp := time.Now().Add(12 * time.Hour).UTC().Format(time.RFC3339)
	// Shaped like STS session credentials; real session tokens run to
	// several hundred characters.
	script, err := writeCredentialProcess(dir, "cred", fmt.Sprintf(`{"Version":1,"AccessKeyId":"ASIALOADTESTKEY00001","SecretAccessKey":"%s","SessionToken":"%s","Expiration":"%s"}`,
		strings.Repeat("s", 40), strings.Repeat("T", 800), exp))
	if err != nil {
		return fail(err)
	}
	awsCfg := filepath.Join(dir, "aws-config")
	awsCreds := filepath.Join(dir, "aws-credentials")
	files := []struct{ path, content string }{
		{awsCfg, fmt.Sprintf("[profile %s]\nregion = eu-west-1\ncredential_process = %s\n", profileName, script)},
		{awsCreds, ""},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, []byte(f.content), 0o700); err != nil {
			return fail(err)
		}
	}
	cfg, err := config.Parse(strings.NewReader(fmt.Sprintf("profiles:\n  %s: {aws_profile: %s}\n", profileName, profileName)))
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	cfg.Listen = ln.Addr().String()
	cfg.StateDir = filepath.Join(dir, "state")
	_, token, err := daemon.EnsureToken(cfg.StateDir)
	if err != nil {
		ln.Close()
		return fail(err)
	}
	reg := prometheus.NewRegistry()
	deps := daemon.Deps{
		Registerer:         reg,
		Gatherer:           reg,
		AWSConfigFiles:     []string{awsCfg},
		AWSCredentialFiles: []string{awsCreds},
		UserName:           "credd-load",
		ClientToken:        token,
	}
	closeAudit := func() {}
	if attributed {
		auditLog, err := audit.Open(audit.Options{Path: filepath.Join(cfg.StateDir, "audit.jsonl")})
		if err != nil {
			ln.Close()
			return fail(err)
		}
		deps.Audit, closeAudit = auditLog, func() { auditLog.Close() }
	} else {
		self, err := peer.Self()
		if err != nil {
			ln.Close()
			return fail(err)
		}
		deps.Peers = ownerResolver{user: self}
	}
	d, err := daemon.New(ctx, cfg, deps)
	if err != nil {
		ln.Close()
		closeAudit()
		return fail(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(rctx, ln) }()
	return cfg.Listen, token, func() { cancel(); <-done; closeAudit(); cleanup() }, nil
}

// ownerResolver says at once that every connection is user's, and names
// no process: the baseline without attribution.
type ownerResolver struct{ user string }

func (o ownerResolver) Lookup(_, _ netip.AddrPort) (peer.Peer, error) {
	return peer.Peer{User: o.user}, nil
}

func (ownerResolver) Process(peer.Peer) (peer.Process, error) {
	return peer.Process{}, peer.ErrNotFound
}

// fetchOnce gets an IMDSv2 token and the credentials document from credd
// with net/http (which also warms the refresher), and checks the container
// endpoint answers too.
func fetchOnce(addr string, clientToken []byte) (imdsToken string, body []byte, err error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	do := func(method, path string, hdr map[string]string) ([]byte, error) {
		req, err := http.NewRequest(method, "http://"+addr+path, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
		}
		return b, nil
	}
	tok, err := do(http.MethodPut, "/latest/api/token", map[string]string{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": "21600"})
	if err != nil {
		return "", nil, err
	}
	body, err = do(http.MethodGet, "/latest/meta-data/iam/security-credentials/"+profileName, map[string]string{"X-Aws-Ec2-Metadata-Token": string(tok)})
	if err != nil {
		return "", nil, err
	}
	if !bytes.Contains(body, []byte(`"AccessKeyId":"ASIALOADTESTKEY00001"`)) {
		return "", nil, fmt.Errorf("credd served unexpected credentials: %.80s", body)
	}
	if _, err := do(http.MethodGet, "/v1/credentials/"+profileName, map[string]string{"Authorization": string(clientToken)}); err != nil {
		return "", nil, err
	}
	return string(tok), body, nil
}

// startBare serves body with the headers credd sets, from an http.Server
// configured like credd's (timeouts, header limit).
func startBare(body []byte) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	body = bytes.Clone(body)
	ct, cl, cc := []string{"application/json"}, []string{strconv.Itoa(len(body))}, []string{"no-store"}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h["Content-Type"], h["Content-Length"], h["Cache-Control"] = ct, cl, cc
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    daemon.MaxHeaderBytes,
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close(); <-done }, nil
}

// round is one measured run against one target.
type round struct {
	requests int64
	elapsed  time.Duration
	samples  []time.Duration
	wire     int
}

// drive runs conns connections against t for d.
func drive(t *target, conns int, d time.Duration) (round, error) {
	cs := make([]*client, conns)
	for i := range cs {
		c, err := dial(t)
		if err != nil {
			for _, c := range cs[:i] {
				c.conn.Close()
			}
			return round{}, err
		}
		cs[i] = c
	}
	defer func() {
		for _, c := range cs {
			c.conn.Close()
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, conns)
	start := time.Now()
	deadline := start.Add(d)
	for i, c := range cs {
		wg.Go(func() { errs[i] = c.loop(deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return round{}, err
	}
	r := round{elapsed: elapsed}
	for _, c := range cs {
		r.requests += int64(len(c.samples))
		r.samples = append(r.samples, c.samples...)
		r.wire = c.wire
	}
	return r, nil
}

// client is one keep-alive HTTP/1.1 connection.
type client struct {
	conn    net.Conn
	br      *bufio.Reader
	req     []byte
	samples []time.Duration
	wire    int
}

func dial(t *target) (*client, error) {
	c, err := net.Dial("tcp", t.addr)
	if err != nil {
		return nil, err
	}
	return &client{conn: c, br: bufio.NewReaderSize(c, 16<<10), req: t.req, samples: make([]time.Duration, 0, 1<<16)}, nil
}

func (c *client) loop(deadline time.Time) error {
	_ = c.conn.SetDeadline(deadline.Add(10 * time.Second))
	for {
		t0 := time.Now()
		if !t0.Before(deadline) {
			return nil
		}
		n, err := c.roundTrip()
		if err != nil {
			return err
		}
		c.samples = append(c.samples, time.Since(t0))
		c.wire = n
	}
}

var errProtocol = errors.New("unexpected response")

// roundTrip sends the request and reads one response, which must be a 200
// with a Content-Length body. It returns the response's size on the wire.
func (c *client) roundTrip() (int, error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	n := len(line)
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return 0, fmt.Errorf("%w: %q", errProtocol, bytes.TrimSpace(line))
	}
	length := -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		n += len(line)
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, fmt.Errorf("%w: Content-Length %q", errProtocol, v)
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("%w: no Content-Length", errProtocol)
	}
	if _, err := c.br.Discard(length); err != nil {
		return 0, err
	}
	return n + length, nil
}
