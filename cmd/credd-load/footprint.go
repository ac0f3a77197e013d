package main

// The footprint mode: what credd costs at rest, and how its start, reload
// and status grow with the number of profiles. It runs the real binary as
// a user would (`credd serve`, zero-configuration or with a config file),
// each time in a fresh temporary home, and measures it from outside.

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
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/credd/credd/control"
)

type footprintOptions struct {
	bin        string
	zero       []int
	config     []int
	starts     int
	statusRuns int
	idle       time.Duration
	settle     time.Duration
	timeout    time.Duration
	conns      int
	floor      bool
	fetch      bool
	store      string
	keep       bool
	progress   io.Writer
}

const footprintUsage = `usage: credd-load footprint [flags]

Starts the real credd binary (credd serve) in a fresh temporary home for
each profile count and reports, per count: start → /healthz answers
(median of -starts starts), RSS after start, the time to fetch every
profile once over the container endpoint, then RSS, heap in use and
goroutines once idle, the CPU used over -idle of idling, a reload over the
control socket, and ` + "`credd status`" + ` (median of -status-runs).

-n counts are zero-configuration runs: ~/.aws/config holds that many
profiles, each with a credential_process (a shell script; no network).
-config-n counts are runs with a credd config file of that many
sso_session profiles (the shape ` + "`credd config init`" + ` writes); those are
not fetched (signing in needs an IdP) and not idled.

Linux only (it reads /proc). Traffic goes only to 127.0.0.1.

`

func runFootprint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("credd-load footprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, footprintUsage); fs.PrintDefaults() }
	var o footprintOptions
	var zero, cfgN string
	fs.StringVar(&o.bin, "bin", "", "credd binary to measure (default: go build -trimpath ./cmd/credd into a temporary directory)")
	fs.StringVar(&zero, "n", "0,20,1000,5000", "profile counts for zero-configuration runs (comma-separated; empty: none)")
	fs.StringVar(&cfgN, "config-n", "", "profile counts for runs with a credd config file, start only (e.g. 20000,50000,100000)")
	fs.IntVar(&o.starts, "starts", 3, "starts per count; the start time is their median")
	fs.IntVar(&o.statusRuns, "status-runs", 3, "runs of `credd status` per count; the time is their median")
	fs.DurationVar(&o.idle, "idle", time.Minute, "idle window over which CPU is measured (0: skip)")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after start and after fetching before measuring memory")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on a start, a reload or the fetches after this long")
	fs.IntVar(&o.conns, "c", 4, "concurrent connections fetching the profiles")
	fs.BoolVar(&o.fetch, "fetch", true, "fetch every profile once (false: measure start, reload and status only, which takes seconds rather than minutes at 5,000)")
	fs.BoolVar(&o.floor, "floor", false, "also build and measure a hello-world net/http server the same way (the Go runtime's floor)")
	fs.StringVar(&o.store, "session-store", "", "CREDD_SESSION_STORE for the daemon (default: the config's default, auto)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary homes (their paths are printed) for inspection")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if o.zero, err = parseCounts(zero); err == nil {
		o.config, err = parseCounts(cfgN)
	}
	if err != nil || o.starts < 1 || o.statusRuns < 1 || o.conns < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "credd-load footprint: -n and -config-n take counts like 0,20,1000; -starts, -status-runs and -c must be positive; no arguments")
		return 2
	}
	o.progress = stderr
	if err := footprint(context.Background(), o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "credd-load footprint:", err)
		return 2
	}
	return 0
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// run kinds.
const (
	kindZero   = "~/.aws/config"
	kindConfig = "config file"
	kindFloor  = "hello-world net/http"
)

// measurement is one count's figures; zero durations were not measured.
type measurement struct {
	kind       string
	profiles   int
	starts     []time.Duration
	startCPU   []time.Duration
	rssStart   int64 // bytes, -settle after the last start
	fetch      time.Duration
	rssIdle    int64 // bytes, -settle after fetching
	rssAfter   int64 // bytes, at the end of the -idle window
	heapInuse  int64
	stackInuse int64
	goroutines int64
	idleCPU    time.Duration
	idleWindow time.Duration
	reload     time.Duration
	reloadCPU  time.Duration
	status     []time.Duration
	statusCPU  []time.Duration
}

func footprint(ctx context.Context, o footprintOptions, stdout, stderr io.Writer) error {
	if err := procSupported(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "credd-footprint-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if o.bin == "" {
		o.bin = filepath.Join(tmp, "credd")
		fmt.Fprintln(stderr, "building ./cmd/credd ...")
		if err := goBuild(ctx, o.bin, "./cmd/credd", ""); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "credd-load footprint: %s, GOOS=%s GOARCH=%s, %d CPUs, starts %d, idle %s\n\n", o.bin, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), o.starts, o.idle)

	var all []measurement
	report := func(m measurement) {
		all = append(all, m)
		fmt.Fprintf(stderr, "%s, %d profiles: start %s (median of %d), RSS %s; fetch %s; idle RSS %s, heap %s, stacks %s, %d goroutines, idle CPU %s; reload %s; status %s\n",
			m.kind, m.profiles, ms(median(m.starts)), len(m.starts), mb(m.rssStart), ms(m.fetch), mb(m.rssIdle), mb(m.heapInuse), mb(m.stackInuse), m.goroutines, ms(m.idleCPU), ms(m.reload), ms(median(m.status)))
	}
	if o.floor {
		m, err := measureFloor(ctx, o, tmp)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		report(m)
	}
	for i, n := range o.zero {
		m, err := measureCredd(ctx, o, filepath.Join(tmp, fmt.Sprintf("zero-%d", i)), kindZero, n)
		if err != nil {
			return fmt.Errorf("%d profiles in ~/.aws/config: %w", n, err)
		}
		report(m)
	}
	for i, n := range o.config {
		m, err := measureCredd(ctx, o, filepath.Join(tmp, fmt.Sprintf("config-%d", i)), kindConfig, n)
		if err != nil {
			return fmt.Errorf("%d profiles in the config file: %w", n, err)
		}
		report(m)
	}
	printFootprint(stdout, all)
	return nil
}

func printFootprint(w io.Writer, all []measurement) {
	fmt.Fprintln(w, "| profiles | in | start → /healthz (CPU) | per profile | RSS after start | fetch each once | RSS idle after fetch | heap in use | stacks | goroutines | idle CPU | RSS after idling | reload (CPU) | `credd status` (CPU) |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range all {
		start := median(m.starts)
		per := "–"
		if m.profiles > 0 {
			per = strconv.FormatFloat(float64(start)/float64(m.profiles)/float64(time.Microsecond), 'f', 1, 64) + " µs"
		}
		cpu := "–"
		if m.idleWindow > 0 {
			cpu = fmt.Sprintf("%s / %s", ms(m.idleCPU), m.idleWindow)
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			m.profiles, m.kind, withCPU(start, median(m.startCPU)), per, mb(m.rssStart), ms(m.fetch), mb(m.rssIdle), mb(m.heapInuse), mb(m.stackInuse), count(m.goroutines),
			cpu, mb(m.rssAfter), withCPU(m.reload, m.reloadCPU), withCPU(median(m.status), median(m.statusCPU)))
	}
	fmt.Fprintln(w, "\nstart: from exec to the first 200 from /healthz, median of the starts (in brackets: the CPU the process used by then); RSS from /proc/<pid>/status (VmRSS);")
	fmt.Fprintln(w, "heap and stacks in use and goroutines from the daemon's /metrics; idle CPU: user+system time of all its threads (schedstat) over the window, and RSS at its end.")
}

// withCPU shows a wall time and the CPU time spent in it.
func withCPU(wall, cpu time.Duration) string {
	if wall == 0 || cpu == 0 {
		return ms(wall)
	}
	return ms(wall) + " (" + ms(cpu) + ")"
}

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	if d >= 10*time.Second {
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

func mb(b int64) string {
	if b == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB"
}

func count(n int64) string {
	if n == 0 {
		return "–"
	}
	return strconv.FormatInt(n, 10)
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// home is one run's temporary user: its home, config, state and AWS files.
type home struct {
	dir, state, config string
	listen             string
	env                []string
	names              []string // profiles to fetch
}

// newHome lays out a fresh home with n profiles of the given kind.
func newHome(dir, kind string, n int, store string) (*home, error) {
	h := &home{dir: dir}
	homeDir := filepath.Join(dir, "home")
	h.config = filepath.Join(homeDir, ".config")
	h.state = filepath.Join(homeDir, ".local", "state")
	for _, d := range []string{filepath.Join(homeDir, ".aws"), filepath.Join(h.config, "credd"), h.state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	h.listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	switch kind {
	case kindZero:
		exp := time.Now().Add(12 * time.Hour).UTC().Format(time.RFC3339)
		script, err := writeCredentialProcess(dir, "credential-process", fmt.Sprintf(`{"Version":1,"AccessKeyId":"ASIAFOOTPRINTKEY0001","SecretAccessKey":"%s","SessionToken":"%s","Expiration":"%s"}`,
			strings.Repeat("s", 40), strings.Repeat("T", 800), exp))
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		for i := range n {
			name := fmt.Sprintf("p%05d", i)
			h.names = append(h.names, name)
			fmt.Fprintf(&b, "[profile %s]\nregion = eu-west-1\ncredential_process = %s\n\n", name, script)
		}
		if err := os.WriteFile(filepath.Join(homeDir, ".aws", "config"), b.Bytes(), 0o600); err != nil {
			return nil, err
		}
	case kindConfig:
		var b bytes.Buffer
		// No sign-in happens: the endpoint is a closed loopback port, so
		// nothing could leave the machine even if something tried.
		b.WriteString("sso_sessions:\n  corp:\n    start_url: https://corp.awsapps.com/start\n    region: eu-west-1\n    endpoint: http://127.0.0.1:9\n    share_aws_cli_cache: false\nprofiles:\n")
		for i := range n {
			fmt.Fprintf(&b, "  acct%07d/Developer:\n    sso_session: corp\n    account_id: \"%012d\"\n    role_name: Developer\n", i, 100000000000+i)
		}
		if err := os.WriteFile(filepath.Join(h.config, "credd", "config.yaml"), b.Bytes(), 0o600); err != nil {
			return nil, err
		}
	}
	// The daemon's environment: this one less anything that steers the SDK
	// or credd, and the temporary home.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CREDD_") || k == "HOME" || strings.HasPrefix(k, "XDG_") {
			continue
		}
		h.env = append(h.env, kv)
	}
	h.env = append(h.env, "HOME="+homeDir, "XDG_CONFIG_HOME="+h.config, "XDG_STATE_HOME="+h.state, "CREDD_LISTEN="+h.listen)
	if store != "" {
		h.env = append(h.env, "CREDD_SESSION_STORE="+store)
	}
	h.state = filepath.Join(h.state, "credd")
	return h, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// proc is a started server.
type proc struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when Wait returned
	waitErr error
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop ends the server with SIGTERM (a kill after 30 s) and waits for it.
// It may be called again.
func (p *proc) stop() error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return errors.New("it did not stop within 30 s of SIGTERM; killed")
	}
}

// syncBuffer is a bytes.Buffer the child's output goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// start runs argv with env and waits until GET /healthz on listen answers
// 200. It returns the time from exec to that answer.
func start(ctx context.Context, argv, env []string, listen string, timeout time.Duration) (*proc, *syncBuffer, time.Duration, error) {
	p, out, d, _, err := startCPU(ctx, argv, env, listen, timeout)
	return p, out, d, err
}

// startCPU is start that also returns the CPU time the process had used
// when it first answered: the cost of starting, whatever the neighbours.
func startCPU(ctx context.Context, argv, env []string, listen string, timeout time.Duration) (*proc, *syncBuffer, time.Duration, time.Duration, error) {
	out := &syncBuffer{}
	p, d, cpu, err := startLogging(ctx, argv, env, listen, timeout, out)
	return p, out, d, cpu, err
}

// startLogging is startCPU with the output going to out; errors quote
// out's tail if it is a *syncBuffer.
func startLogging(ctx context.Context, argv, env []string, listen string, timeout time.Duration, out io.Writer) (*proc, time.Duration, time.Duration, error) {
	tail := func() string {
		if sb, ok := out.(*syncBuffer); ok {
			return sb.tail()
		}
		return ""
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + listen + "/healthz"
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, 0, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	deadline := t0.Add(timeout)
	for {
		resp, err := hc.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				d := time.Since(t0)
				cpu, _ := cpuTime(cmd.Process.Pid)
				return p, d, cpu, nil
			}
		}
		select {
		case <-p.exited:
			return nil, 0, 0, fmt.Errorf("%s exited before serving: %v\n%s", argv[0], p.waitErr, tail())
		case <-ctx.Done():
			_ = p.stop()
			return nil, 0, 0, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.stop()
			return nil, 0, 0, fmt.Errorf("not serving /healthz after %s\n%s", timeout, tail())
		}
	}
}

// measureCredd starts credd with n profiles -starts times and measures the
// last run in full.
func measureCredd(ctx context.Context, o footprintOptions, dir, kind string, n int) (measurement, error) {
	m := measurement{kind: kind, profiles: n}
	fmt.Fprintf(o.progress, "%s, %d profiles: writing the files\n", kind, n)
	h, err := newHome(dir, kind, n, o.store)
	if err != nil {
		return m, err
	}
	var p *proc
	var out *syncBuffer
	for i := range o.starts {
		var d, cpu time.Duration
		p, out, d, cpu, err = startCPU(ctx, []string{o.bin, "serve"}, h.env, h.listen, o.timeout)
		if err != nil {
			return m, err
		}
		m.starts, m.startCPU = append(m.starts, d), append(m.startCPU, cpu)
		if i < o.starts-1 {
			if err := p.stop(); err != nil {
				return m, fmt.Errorf("stopping credd: %w\n%s", err, out.tail())
			}
		}
	}
	defer p.stop()
	pid := p.cmd.Process.Pid
	time.Sleep(o.settle)
	if m.rssStart, err = rss(pid); err != nil {
		return m, err
	}
	if kind == kindZero && n > 0 && o.fetch {
		token, err := os.ReadFile(filepath.Join(h.state, "token"))
		if err != nil {
			return m, err
		}
		t0 := time.Now()
		if err := fetchAll(ctx, h.listen, string(token), h.names, o.conns, o.timeout); err != nil {
			return m, fmt.Errorf("%w\n%s", err, out.tail())
		}
		m.fetch = time.Since(t0)
		time.Sleep(o.settle)
	}
	if m.rssIdle, err = rss(pid); err != nil {
		return m, err
	}
	if m.heapInuse, m.stackInuse, m.goroutines, err = scrape(h.listen); err != nil {
		return m, err
	}
	if kind == kindZero && o.idle > 0 {
		fmt.Fprintf(o.progress, "%s, %d profiles: idling for %s (pid %d)\n", kind, n, o.idle, pid)
		c0, err := cpuTime(pid)
		if err != nil {
			return m, err
		}
		time.Sleep(o.idle)
		c1, err := cpuTime(pid)
		if err != nil {
			return m, err
		}
		m.idleCPU, m.idleWindow = c1-c0, o.idle
		if m.rssAfter, err = rss(pid); err != nil {
			return m, err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c0, err := cpuTime(pid)
	if err != nil {
		return m, err
	}
	t0 := time.Now()
	if err := control.NewClient(h.state).Reload(rctx); err != nil {
		return m, fmt.Errorf("reload: %w\n%s", err, out.tail())
	}
	m.reload = time.Since(t0)
	if c1, err := cpuTime(pid); err == nil {
		m.reloadCPU = c1 - c0
	}
	for range o.statusRuns {
		cmd := exec.CommandContext(rctx, o.bin, "status")
		cmd.Env = h.env
		var so bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &so
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return m, fmt.Errorf("credd status: %w\n%s", err, so.Bytes()[:min(so.Len(), 2000)])
		}
		m.status = append(m.status, time.Since(t0))
		m.statusCPU = append(m.statusCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	if err := p.stop(); err != nil {
		return m, fmt.Errorf("stopping credd: %w\n%s", err, out.tail())
	}
	return m, nil
}

// fetchAll GETs every profile once from the container endpoint.
func fetchAll(ctx context.Context, listen, token string, names []string, conns int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	defer hc.CloseIdleConnections()
	next := make(chan string)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			for name := range next {
				if errs[i] != nil {
					continue
				}
				errs[i] = fetchOne(ctx, hc, listen, token, name)
			}
		})
	}
	for _, n := range names {
		next <- n
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// fetchOne GETs one profile, trying again (up to twice, after the
// refresher's first back-off) when credd answers 503: on a machine loaded
// enough, a credential_process helper can miss its deadline, and one such
// failure should not end a run of thousands.
func fetchOne(ctx context.Context, hc *http.Client, listen, token, name string) error {
	var err error
	for range 3 {
		if err = fetchProfile(ctx, hc, listen, token, name); !errors.Is(err, errUnavailable) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(2500 * time.Millisecond):
		}
	}
	return err
}

var errUnavailable = errors.New("503 Service Unavailable")

func fetchProfile(ctx context.Context, hc *http.Client, listen, token, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/v1/credentials/"+name, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("profile %s: %w: %.200s", name, errUnavailable, b)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("ASIAFOOTPRINTKEY0001")) {
		return fmt.Errorf("profile %s: %s: %.200s", name, resp.Status, b)
	}
	return nil
}

// scrape reads heap and stack in use and goroutines from credd's /metrics.
func scrape(listen string) (heap, stack, goroutines int64, err error) {
	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, 0, fmt.Errorf("/metrics: %s", resp.Status)
	}
	want := map[string]*int64{"go_memstats_heap_inuse_bytes": &heap, "go_memstats_stack_inuse_bytes": &stack, "go_goroutines": &goroutines}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if p, found := want[name]; ok && found {
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("/metrics: %s: %w", name, err)
			}
			*p = int64(f)
			delete(want, name)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, 0, err
	}
	if len(want) > 0 {
		return 0, 0, 0, fmt.Errorf("/metrics lacks %v", slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		}))
	}
	return heap, stack, goroutines, nil
}

// helloWorld is the floor: the least a Go HTTP server that answers
// /healthz can be, built the same way as credd.
const helloWorld = `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	panic(http.ListenAndServe(os.Getenv("CREDD_LISTEN"), nil))
}
`

func measureFloor(ctx context.Context, o footprintOptions, tmp string) (measurement, error) {
	m := measurement{kind: kindFloor}
	dir := filepath.Join(tmp, "floor")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return m, err
	}
	files := map[string]string{"go.mod": "module floor\n\ngo " + strings.TrimPrefix(runtime.Version(), "go") + "\n", "main.go": helloWorld}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return m, err
		}
	}
	bin := filepath.Join(dir, "floor")
	if err := goBuild(ctx, bin, ".", dir); err != nil {
		return m, err
	}
	h, err := newHome(filepath.Join(tmp, "floor-home"), "", 0, "")
	if err != nil {
		return m, err
	}
	for i := range o.starts {
		p, out, d, cpu, err := startCPU(ctx, []string{bin}, h.env, h.listen, o.timeout)
		if err != nil {
			return m, err
		}
		m.starts, m.startCPU = append(m.starts, d), append(m.startCPU, cpu)
		if i == o.starts-1 {
			time.Sleep(o.settle)
			if m.rssStart, err = rss(p.cmd.Process.Pid); err != nil {
				return m, err
			}
			m.rssIdle = m.rssStart
		}
		if err := p.stop(); err != nil {
			return m, fmt.Errorf("%w\n%s", err, out.tail())
		}
	}
	return m, nil
}

// goBuild builds pkg into out as the project's release builds do
// (CGO_ENABLED=0, -trimpath, -ldflags "-s -w"; packaging/goreleaser.yaml).
func goBuild(ctx context.Context, out, pkg, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
