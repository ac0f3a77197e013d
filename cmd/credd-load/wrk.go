package main

// The wrk mode: the real credd binary against a bare net/http handler
// (IMDS) and against another credentials server (the container endpoint),
// driven by wrk in paired, alternating rounds.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const wrkUsage = `usage: credd-load wrk [flags]

Starts the real credd binary (credd serve, one credential_process profile,
fetched once) and a bare net/http handler that writes credd's IMDS
credentials document with the same headers, then runs wrk against each in
turn, alternating which goes first, for -rounds rounds, and prints the
requests/s of each round and the median of the per-round ratios:

  imds:       credd's IMDS credentials GET (IMDSv2 token) vs the bare handler
  container:  credd's container endpoint vs -peer (if given)

-peer is a command that serves container credentials: it gets the token
to check in PEER_TOKEN and prints its base URL on its first line of
output (e.g. aws-vault's server.NewEcsServer over a static provider; see
docs/benchmarks.md). Needs wrk on PATH; traffic goes only to 127.0.0.1.

`

type wrkOptions struct {
	bin, peer string
	rounds    int
	dur       time.Duration
	threads   int
	conns     int
}

func runWrk(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("credd-load wrk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, wrkUsage); fs.PrintDefaults() }
	var o wrkOptions
	fs.StringVar(&o.bin, "bin", "", "credd binary (default: go build ./cmd/credd as the release does)")
	fs.StringVar(&o.peer, "peer", "", "command serving container credentials to compare the container endpoint with")
	fs.IntVar(&o.rounds, "rounds", 10, "rounds; each runs wrk once against each target")
	fs.DurationVar(&o.dur, "d", 2*time.Second, "wrk duration per target per round")
	fs.IntVar(&o.threads, "t", 2, "wrk threads")
	fs.IntVar(&o.conns, "c", 32, "wrk connections")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.rounds < 1 || o.dur < time.Second || o.threads < 1 || o.conns < o.threads || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "credd-load wrk: -rounds ≥ 1, -d ≥ 1s, -t ≥ 1, -c ≥ -t; no arguments")
		return 2
	}
	if err := wrkCompare(context.Background(), o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "credd-load wrk:", err)
		return 2
	}
	return 0
}

// wrkTarget is one URL and the header wrk sends to it, and the process
// serving it (whose CPU time per request is measured).
type wrkTarget struct {
	name, url, header string
	pid               int
}

// wrkResult is one wrk run: requests per second, and the serving process's
// CPU time per request (0 where the OS does not tell). On a machine shared
// with other work, the CPU time per request is the steadier of the two.
type wrkResult struct {
	rps    float64
	cpuReq time.Duration
}

func wrkCompare(ctx context.Context, o wrkOptions, stdout, stderr io.Writer) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (Debian: apt-get install wrk)")
	}
	tmp, err := os.MkdirTemp("", "credd-wrk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.bin == "" {
		o.bin = filepath.Join(tmp, "credd")
		fmt.Fprintln(stderr, "building ./cmd/credd ...")
		if err := goBuild(ctx, o.bin, "./cmd/credd", ""); err != nil {
			return err
		}
	}
	h, err := newHome(filepath.Join(tmp, "credd-home"), kindZero, 1, "")
	if err != nil {
		return err
	}
	p, out, _, err := start(ctx, []string{o.bin, "serve"}, h.env, h.listen, time.Minute)
	if err != nil {
		return err
	}
	defer p.stop()
	token, err := os.ReadFile(filepath.Join(h.state, "token"))
	if err != nil {
		return err
	}
	base := "http://" + h.listen
	hc := &http.Client{Timeout: 30 * time.Second}
	imdsToken, err := httpDo(hc, http.MethodPut, base+"/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 21600")
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out.tail())
	}
	credsPath := "/latest/meta-data/iam/security-credentials/" + h.names[0]
	imdsHeader := "X-aws-ec2-metadata-token: " + string(imdsToken)
	body, err := httpDo(hc, http.MethodGet, base+credsPath, imdsHeader)
	if err != nil {
		return err
	}
	containerHeader := "Authorization: " + string(token)
	if _, err := httpDo(hc, http.MethodGet, base+"/v1/credentials/"+h.names[0], containerHeader); err != nil {
		return err
	}
	bare, stopBare, err := startBare(body)
	if err != nil {
		return err
	}
	defer stopBare()

	pairs := [][2]wrkTarget{{
		{"credd imds", base + credsPath, imdsHeader, p.cmd.Process.Pid},
		{"bare", "http://" + bare + credsPath, imdsHeader, os.Getpid()},
	}}
	if o.peer != "" {
		peerURL, peerToken, peerPID, stopPeer, err := startPeer(ctx, o.peer)
		if err != nil {
			return err
		}
		defer stopPeer()
		pairs = append(pairs, [2]wrkTarget{
			{"credd container", base + "/v1/credentials/" + h.names[0], containerHeader, p.cmd.Process.Pid},
			{"peer", peerURL + "/", "Authorization: " + peerToken, peerPID},
		})
	}
	fmt.Fprintf(stdout, "credd-load wrk: %s; wrk -t%d -c%d -d%s, %d rounds, alternating\n\n", o.bin, o.threads, o.conns, o.dur, o.rounds)
	for _, pair := range pairs {
		var a, b, ratios, cpuA, cpuB, cpuRatios []float64
		for round := range o.rounds {
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			var got [2]wrkResult
			for _, i := range order {
				r, err := runWrkOnce(ctx, o, pair[i])
				if err != nil {
					return err
				}
				got[i] = r
			}
			a, b = append(a, got[0].rps), append(b, got[1].rps)
			ratios = append(ratios, got[0].rps/got[1].rps)
			cpu := ""
			if got[0].cpuReq > 0 && got[1].cpuReq > 0 {
				ca, cb := micros(got[0].cpuReq), micros(got[1].cpuReq)
				cpuA, cpuB, cpuRatios = append(cpuA, ca), append(cpuB, cb), append(cpuRatios, cb/ca)
				cpu = fmt.Sprintf("; CPU per request %.1f / %.1f µs", ca, cb)
			}
			fmt.Fprintf(stderr, "%s vs %s, round %d: %.0f / %.0f = %.3f%s\n", pair[0].name, pair[1].name, round+1, got[0].rps, got[1].rps, got[0].rps/got[1].rps, cpu)
		}
		fmt.Fprintf(stdout, "| %s req/s (median) | %s req/s (median) | ratio, median of rounds | ratios, min–max |\n|---:|---:|---:|---|\n", pair[0].name, pair[1].name)
		fmt.Fprintf(stdout, "| %.0f | %.0f | **%.3f** | %.3f–%.3f |\n\n", medianF(a), medianF(b), medianF(ratios), slices.Min(ratios), slices.Max(ratios))
		if len(cpuRatios) > 0 {
			fmt.Fprintf(stdout, "| %s CPU µs/request (median) | %s CPU µs/request (median) | %s's CPU per request / %s's, median of rounds | min–max |\n|---:|---:|---:|---|\n", pair[0].name, pair[1].name, pair[1].name, pair[0].name)
			fmt.Fprintf(stdout, "| %.1f | %.1f | **%.3f** | %.3f–%.3f |\n\n", medianF(cpuA), medianF(cpuB), medianF(cpuRatios), slices.Min(cpuRatios), slices.Max(cpuRatios))
		}
	}
	return nil
}

func medianF(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkRequests = regexp.MustCompile(`([0-9]+) requests in`)
)

func runWrkOnce(ctx context.Context, o wrkOptions, t wrkTarget) (wrkResult, error) {
	cmd := exec.CommandContext(ctx, "wrk", "-t"+strconv.Itoa(o.threads), "-c"+strconv.Itoa(o.conns), "-d"+strconv.Itoa(int(o.dur.Seconds()))+"s", "-H", t.header, t.url)
	c0, cerr := cpuTime(t.pid)
	b, err := cmd.CombinedOutput()
	c1, cerr1 := cpuTime(t.pid)
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", t.name, err, b)
	}
	if bytes.Contains(b, []byte("Non-2xx")) {
		return wrkResult{}, fmt.Errorf("wrk %s: responses other than 2xx:\n%s", t.name, b)
	}
	rps, count, err := parseWrk(b)
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", t.name, err, b)
	}
	r := wrkResult{rps: rps}
	if cerr == nil && cerr1 == nil {
		r.cpuReq = (c1 - c0) / time.Duration(count)
	}
	return r, nil
}

// parseWrk reads requests/s and the number of requests from wrk's report.
func parseWrk(b []byte) (rps float64, requests int64, err error) {
	m, n := wrkRPS.FindSubmatch(b), wrkRequests.FindSubmatch(b)
	if m == nil || n == nil {
		return 0, 0, errors.New("no Requests/sec or request count in its report")
	}
	if rps, err = strconv.ParseFloat(string(m[1]), 64); err != nil {
		return 0, 0, err
	}
	if requests, err = strconv.ParseInt(string(n[1]), 10, 64); err != nil || requests == 0 {
		return 0, 0, fmt.Errorf("request count %q: %v", n[1], err)
	}
	return rps, requests, nil
}

// httpDo sends one request with one "Name: value" header and returns the
// body of a 200.
func httpDo(hc *http.Client, method, url, header string) ([]byte, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	k, v, _ := strings.Cut(header, ": ")
	req.Header.Set(k, v)
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
		return nil, fmt.Errorf("%s %s: %s: %.200s", method, url, resp.Status, b)
	}
	return b, nil
}

// startPeer runs the peer command with a fresh token and reads its URL.
func startPeer(ctx context.Context, command string) (url, token string, pid int, stop func(), err error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", 0, nil, err
	}
	token = hex.EncodeToString(raw[:])
	argv := strings.Fields(command)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PEER_TOKEN="+token)
	cmd.Stderr = os.Stderr
	so, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", "", 0, nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(so)
		if sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
		_, _ = io.Copy(io.Discard, so)
	}()
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	select {
	case url = <-lines:
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		_ = p.stop()
		return "", "", 0, nil, fmt.Errorf("peer %q printed %q, not its http://127.0.0.1:PORT URL", command, url)
	}
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 5*time.Second)
	if err != nil {
		_ = p.stop()
		return "", "", 0, nil, err
	}
	c.Close()
	return url, token, cmd.Process.Pid, func() { _ = p.stop() }, nil
}
