package main

// The soak mode: the real binary, several role profiles, clients asking
// for them without pause, and an STS that fails at random — 5xx,
// throttling, connection resets, slow answers — and hands out credentials
// of random, sometimes short, lifetimes. It counts what must never
// happen: a request that failed while credd had valid credentials for its
// profile, and expired credentials served.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const soakUsage = `usage: credd-load soak [flags]

Starts the real credd binary (credd serve) in a fresh temporary home with
-profiles role profiles (source_profile + role_arn, signed with static
keys) and sts.endpoint pointing at a fake STS on 127.0.0.1 that injects
faults at random: of its answers, -fault are failures, split evenly
among 5xx, throttling, connection resets and slow answers (1 s to
2 × -fetch-timeout, so some outlast credd's refresh.fetch_timeout); the
others carry credentials that live 4 to 8 minutes, or 70 s to 2 minutes
for -short of them (credd renews those within seconds of receiving them). -c clients ask the container endpoint for a
random profile back to back, with the 1 s timeout of boto3 and the JS
SDK, for -d.

It reports the requests and their outcomes; failures while valid
credentials existed (the STS had delivered credentials for the profile
that still had over a minute to live: credd should have served them;
target 0); expired credentials served (target 0) and credentials served
with less than the minute credd promises; STS requests per credential
lifetime; and credd's RSS at the start (after every profile was fetched
once), after the first minute of load, and at the end. Linux only (it reads /proc). Traffic goes only to
127.0.0.1. It exits 1 if a target is missed, 2 on errors.

`

type soakOptions struct {
	bin          string
	dur          time.Duration
	profiles     int
	clients      int
	fault        float64
	short        float64
	fetchTimeout time.Duration
	seed         uint64
	keep         bool
}

func runSoak(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("credd-load soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, soakUsage); fs.PrintDefaults() }
	var o soakOptions
	fs.StringVar(&o.bin, "bin", "", "credd binary (default: go build -trimpath ./cmd/credd into a temporary directory)")
	fs.DurationVar(&o.dur, "d", 10*time.Minute, "how long the clients run")
	fs.IntVar(&o.profiles, "profiles", 8, "role profiles")
	fs.IntVar(&o.clients, "c", 8, "clients, each asking back to back")
	fs.Float64Var(&o.fault, "fault", 0.4, "fraction of STS answers that are failures")
	fs.Float64Var(&o.short, "short", 0.3, "fraction of credentials with a short lifetime (70 s to 4 min)")
	fs.DurationVar(&o.fetchTimeout, "fetch-timeout", 5*time.Second, "credd's refresh.fetch_timeout")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed (0: from the clock); the run is random all the same (scheduling)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary home (credd's log is there)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.dur <= 0 || o.profiles < 1 || o.clients < 1 || o.fault < 0 || o.fault >= 1 || o.short < 0 || o.short > 1 || o.fetchTimeout < time.Second || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "credd-load soak: -d, -profiles and -c must be positive, -fault in [0, 1), -short in [0, 1], -fetch-timeout at least 1s; no arguments")
		return 2
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	r, err := soak(context.Background(), o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "credd-load soak:", err)
		return 2
	}
	r.print(stdout, o)
	if r.failedWhileValid.Load() > 0 || r.expired.Load() > 0 {
		return 1
	}
	return 0
}

// minValid is how long credentials credd serves must still live
// (refresh.Policy.MinValid).
const minValid = time.Minute

// soakResult is what the clients and the fake STS saw.
type soakResult struct {
	requests, ok, failed, failedWhileValid, expired, nearExpiry, unknown atomic.Int64
	firstFailures                                                        sync.Map // profile -> first failure while valid, for the report

	sts                                            *faultySTS
	elapsed                                        time.Duration
	rssStart, rssWarm, rssEnd                      int64
	goroutinesStart, goroutinesWarm, goroutinesEnd int64
	log                                            string // credd's log, when kept
}

func soak(ctx context.Context, o soakOptions, progress io.Writer) (*soakResult, error) {
	if err := procSupported(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "credd-soak-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(progress, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if o.bin == "" {
		o.bin = filepath.Join(tmp, "credd")
		fmt.Fprintln(progress, "building ./cmd/credd ...")
		if err := goBuild(ctx, o.bin, "./cmd/credd", ""); err != nil {
			return nil, err
		}
	}
	sts, err := startFaultySTS(o)
	if err != nil {
		return nil, err
	}
	defer sts.close()

	h, names, err := soakHome(filepath.Join(tmp, "home"), sts.url, o)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(tmp, "credd.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// The log's last lines, for errors.
	out := &syncBuffer{}
	p, _, _, err := startLogging(ctx, []string{o.bin, "serve"}, h.env, h.listen, time.Minute, io.MultiWriter(logFile, out))
	if err != nil {
		return nil, err
	}
	res := &soakResult{sts: sts}
	if o.keep {
		res.log = logPath
	}
	defer func() { _ = p.stop() }()
	tok, err := os.ReadFile(filepath.Join(h.state, "token"))
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(string(tok))

	// Start: every profile fetched once (the STS fails at random: ask
	// until each answers), then RSS.
	fmt.Fprintf(progress, "soak: %d profiles, %d clients, %s, faults %.0f%%, seed %d\n", o.profiles, o.clients, o.dur, o.fault*100, o.seed)
	hc := &http.Client{Timeout: 30 * time.Second}
	for _, n := range names {
		for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if code, _, _, err := getCreds(ctx, hc, h.listen, token, n); err == nil && code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("profile %s never answered 200 within 5 minutes\n%s", n, out.tail())
			}
		}
	}
	if res.rssStart, err = rss(p.cmd.Process.Pid); err != nil {
		return nil, err
	}
	_, _, res.goroutinesStart, _ = scrape(h.listen)
	sts.resetCounts()

	cctx, cancel := context.WithTimeout(ctx, o.dur)
	defer cancel()
	var wg sync.WaitGroup
	for i := range o.clients {
		rng := rand.New(rand.NewPCG(o.seed, uint64(i)+1))
		wg.Go(func() { res.client(cctx, rng, h.listen, token, names) })
	}
	began := time.Now()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-cctx.Done():
			done = true
		case <-tick.C:
			m, _ := rss(p.cmd.Process.Pid)
			if res.rssWarm == 0 && time.Since(began) >= time.Minute {
				res.rssWarm = m
				_, _, res.goroutinesWarm, _ = scrape(h.listen)
			}
			fmt.Fprintf(progress, "%s: %d requests, %d failed (%d while valid credentials existed), %d expired served; STS %d requests, %d credentials; RSS %s\n",
				time.Since(began).Round(time.Second), res.requests.Load(), res.failed.Load(), res.failedWhileValid.Load(), res.expired.Load(), sts.calls.Load(), sts.issued.Load(), mb(m))
		}
		if !p.running() {
			return nil, fmt.Errorf("credd exited: %v\n%s", p.waitErr, out.tail())
		}
	}
	wg.Wait()
	res.elapsed = time.Since(began)
	if res.rssEnd, err = rss(p.cmd.Process.Pid); err != nil {
		return nil, err
	}
	_, _, res.goroutinesEnd, _ = scrape(h.listen)
	return res, nil
}

// soakHome lays out a home whose credd config has n role profiles signed
// with static keys, against the fake STS.
func soakHome(dir, stsURL string, o soakOptions) (*home, []string, error) {
	h, err := newHome(dir, kindConfig, 0, "memory")
	if err != nil {
		return nil, nil, err
	}
	aws := "[profile soak-keys]\naws_access_key_id = AKIASOAKKEYS00000001\naws_secret_access_key = soak-secret-key\nregion = us-east-1\n"
	if err := os.WriteFile(filepath.Join(dir, "home", ".aws", "config"), []byte(aws), 0o600); err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "session_store: memory\nsts: {region: us-east-1, endpoint: %q}\nrefresh: {fetch_timeout: %s}\nprofiles:\n  keys: {aws_profile: soak-keys}\n", stsURL, o.fetchTimeout)
	var names []string
	for i := range o.profiles {
		name := fmt.Sprintf("role%02d", i)
		names = append(names, name)
		fmt.Fprintf(&b, "  %s: {source_profile: keys, role_arn: \"arn:aws:iam::111122223333:role/%s\"}\n", name, name)
	}
	if err := os.WriteFile(filepath.Join(h.config, "credd", "config.yaml"), []byte(b.String()), 0o600); err != nil {
		return nil, nil, err
	}
	return h, names, nil
}

// client asks for random profiles until ctx ends, as an SDK would (a 1 s
// timeout, keep-alive), and judges each answer against what the STS had
// delivered when the request was sent.
func (r *soakResult) client(ctx context.Context, rng *rand.Rand, listen, token string, names []string) {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer hc.CloseIdleConnections()
	for ctx.Err() == nil {
		name := names[rng.IntN(len(names))]
		sent := time.Now()
		// Valid credentials exist if the STS delivered some for the
		// profile that live past the minute credd keeps in hand, with a
		// little slack for credd to have read the answer.
		validUntil := r.sts.delivered(name)
		code, key, exp, err := getCreds(ctx, hc, listen, token, name)
		if ctx.Err() != nil {
			return // the soak ended mid-request
		}
		got := time.Now()
		r.requests.Add(1)
		if err != nil || code != http.StatusOK {
			r.failed.Add(1)
			if validUntil.Sub(sent) > minValid+2*time.Second {
				r.failedWhileValid.Add(1)
				why := fmt.Sprintf("%d", code)
				if err != nil {
					why = err.Error()
				}
				r.firstFailures.LoadOrStore(name, fmt.Sprintf("at %s: %s (delivered credentials valid until %s)", sent.Format(time.TimeOnly), why, validUntil.Format(time.TimeOnly)))
			}
			continue
		}
		r.ok.Add(1)
		switch {
		case !r.sts.knows(key):
			r.unknown.Add(1)
		case !exp.After(got):
			r.expired.Add(1)
		case exp.Sub(sent) < minValid-time.Second: // Expiration has whole seconds
			r.nearExpiry.Add(1)
		}
	}
}

// getCreds asks the container endpoint for a profile's credentials.
func getCreds(ctx context.Context, hc *http.Client, listen, token, name string) (code int, key string, exp time.Time, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/v1/credentials/"+name, nil)
	if err != nil {
		return 0, "", time.Time{}, err
	}
	req.Header.Set("Authorization", token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", time.Time{}, err
	}
	defer resp.Body.Close()
	var doc struct {
		AccessKeyID string `json:"AccessKeyId"`
		Expiration  time.Time
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			return resp.StatusCode, "", time.Time{}, fmt.Errorf("a 200 that is not a credentials document: %w", err)
		}
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, doc.AccessKeyID, doc.Expiration, nil
}

// Fault kinds of the fake STS.
const (
	faultNone = iota
	fault5xx
	faultThrottle
	faultReset
	faultSlow
	faultKinds
)

var faultNames = [faultKinds]string{"credentials", "5xx", "throttling", "reset", "slow"}

// faultySTS is an STS AssumeRole endpoint that fails at random. It keeps,
// per role, the expiry of the last credentials it delivered (the answer
// was written whole to a client that was still waiting), and every access
// key ID it issued.
type faultySTS struct {
	url   string
	srv   *http.Server
	o     soakOptions
	calls atomic.Int64
	kinds [faultKinds]atomic.Int64

	issued   atomic.Int64
	lifetime atomic.Int64 // sum of issued lifetimes, in seconds

	mu     sync.Mutex
	pick   func() (kind int, delay, life time.Duration) // draw; tests fix it
	rng    *rand.Rand
	keys   map[string]bool
	expiry map[string]time.Time // profile -> last delivered expiry
	serial int
}

func startFaultySTS(o soakOptions) (*faultySTS, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &faultySTS{url: "http://" + ln.Addr().String(), o: o, rng: rand.New(rand.NewPCG(o.seed, 0)), keys: map[string]bool{}, expiry: map[string]time.Time{}}
	f.pick = f.draw
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *faultySTS) close() { _ = f.srv.Close() }

// resetCounts starts the counts of the measured run.
func (f *faultySTS) resetCounts() {
	f.calls.Store(0)
	f.issued.Store(0)
	f.lifetime.Store(0)
	for i := range f.kinds {
		f.kinds[i].Store(0)
	}
}

func (f *faultySTS) delivered(profile string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.expiry[profile]
}

func (f *faultySTS) knows(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[key]
}

// draw picks what the next answer is: its kind, how long a slow one
// waits, and the lifetime of the credentials it carries, if any.
func (f *faultySTS) draw() (kind int, delay, life time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() < f.o.short {
		life = 70*time.Second + time.Duration(f.rng.Int64N(int64(50*time.Second)))
	} else {
		life = 4*time.Minute + time.Duration(f.rng.Int64N(int64(4*time.Minute)))
	}
	if f.rng.Float64() < f.o.fault {
		kind = fault5xx + f.rng.IntN(faultKinds-1)
		if kind == faultSlow {
			delay = time.Second + time.Duration(f.rng.Int64N(int64(2*f.o.fetchTimeout)))
		}
	}
	return kind, delay, life
}

func (f *faultySTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	_ = r.ParseForm()
	if r.PostForm.Get("Action") != "AssumeRole" {
		stsError(w, http.StatusBadRequest, "InvalidAction", "the soak's STS answers AssumeRole only")
		return
	}
	arn := r.PostForm.Get("RoleArn")
	profile := arn[strings.LastIndexByte(arn, '/')+1:]
	f.mu.Lock()
	pick := f.pick
	f.mu.Unlock()
	kind, delay, life := pick()
	f.kinds[kind].Add(1)
	switch kind {
	case fault5xx:
		stsError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable")
		return
	case faultThrottle:
		stsError(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
		return
	case faultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST, not FIN
				}
				c.Close()
				return
			}
		}
		stsError(w, http.StatusInternalServerError, "InternalFailure", "reset")
		return
	case faultSlow:
		// Then an answer, late: credd may have given up on it.
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	now := time.Now()
	exp := now.Add(life).UTC().Truncate(time.Second)
	f.mu.Lock()
	f.serial++
	key := fmt.Sprintf("ASIASOAK%012d", f.serial)
	f.keys[key] = true
	f.mu.Unlock()
	session := r.PostForm.Get("RoleSessionName")
	w.Header().Set("Content-Type", "text/xml")
	_, err := fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>soak-secret-%d</SecretAccessKey><SessionToken>soak-token-%d</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/%s/%s</Arn><AssumedRoleId>AROASOAK:%s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>soak</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		key, f.serial, f.serial, exp.Format(time.RFC3339), html.EscapeString(profile), html.EscapeString(session), html.EscapeString(session))
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	if err != nil || r.Context().Err() != nil {
		return // credd gave up waiting: not delivered
	}
	f.issued.Add(1)
	f.lifetime.Add(int64(exp.Sub(now) / time.Second))
	f.mu.Lock()
	if exp.After(f.expiry[profile]) {
		f.expiry[profile] = exp
	}
	f.mu.Unlock()
}

func stsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>soak</RequestId></ErrorResponse>`, code, html.EscapeString(msg))
}

func (r *soakResult) print(w io.Writer, o soakOptions) {
	f := r.sts
	issued := f.issued.Load()
	meanLife := time.Duration(0)
	if issued > 0 {
		meanLife = time.Duration(f.lifetime.Load()/issued) * time.Second
	}
	perLifetime := 0.0
	if meanLife > 0 {
		perLifetime = float64(f.calls.Load()) / float64(o.profiles) / (r.elapsed.Seconds() / meanLife.Seconds())
	}
	fmt.Fprintf(w, "credd-load soak: %s, %d role profiles, %d clients (1 s timeout), refresh.fetch_timeout %s, STS faults %.0f%%, short lifetimes %.0f%%, seed %d\n\n",
		r.elapsed.Round(time.Second), o.profiles, o.clients, o.fetchTimeout, o.fault*100, o.short*100, o.seed)
	fmt.Fprintln(w, "| measure | value | target |")
	fmt.Fprintln(w, "|---|---:|---|")
	row := func(k string, v any, target string) { fmt.Fprintf(w, "| %s | %v | %s |\n", k, v, target) }
	row("requests", r.requests.Load(), "")
	row("answered 200", r.ok.Load(), "")
	row("failed (non-200 or no answer in 1 s)", r.failed.Load(), "")
	row("failed while valid credentials existed", r.failedWhileValid.Load(), "0")
	row("expired credentials served", r.expired.Load(), "0")
	row("served with under a minute left", r.nearExpiry.Load(), "0")
	row("served credentials the STS never issued", r.unknown.Load(), "0")
	row("STS requests", f.calls.Load(), "")
	var kinds []string
	for i := range faultKinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", faultNames[i], f.kinds[i].Load()))
	}
	row("STS answers", strings.Join(kinds, ", "), "")
	row("credentials delivered", issued, "")
	row("mean credential lifetime", meanLife, "")
	row("STS requests per profile per credential lifetime", strconv.FormatFloat(perLifetime, 'f', 2, 64), "")
	row("credd RSS at start / after a minute of load / end", mb(r.rssStart)+" / "+mb(r.rssWarm)+" / "+mb(r.rssEnd), "flat")
	row("credd goroutines at start / after a minute / end", fmt.Sprintf("%d / %d / %d", r.goroutinesStart, r.goroutinesWarm, r.goroutinesEnd), "flat")
	r.firstFailures.Range(func(k, v any) bool {
		fmt.Fprintf(w, "\nfirst failure of %s while valid credentials existed: %s", k, v)
		return true
	})
	if r.log != "" {
		fmt.Fprintf(w, "\ncredd's log: %s\n", r.log)
	}
}
