package peer

import (
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkAttribute times what credd pays per new connection with 500
// processes on the machine: Lookup (the owner; every connection, before
// its first request is served) and Process (the program; once per
// connection that gets an audit line), the latter both for a process
// credd has not seen yet (cold: a scan; the client here is older than
// the 500 others, the worst case of the newest-first order) and for one
// that connected before (warm). It reports the p50 and p99 of each in µs.
// Run:
//
//	go test -run '^$' -bench Attribute -benchtime 2000x ./peer/
func BenchmarkAttribute(b *testing.B) {
	if runtime.GOOS == "windows" {
		b.Skip("starts 500 `sleep` processes")
	}
	crowd(b, 500)
	r, err := New()
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var owner, cold, warm []time.Duration
	for b.Loop() {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		local, remote := s.LocalAddr().(*net.TCPAddr).AddrPort(), s.RemoteAddr().(*net.TCPAddr).AddrPort()
		t0 := time.Now()
		p, err := r.Lookup(local, remote)
		t1 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		forget(r)
		if _, err := r.Process(p); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := r.Process(p); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		owner, cold, warm = append(owner, t1.Sub(t0)), append(cold, t2.Sub(t1)), append(warm, t3.Sub(t2))
		c.Close()
		s.Close()
	}
	report(b, "owner", owner)
	report(b, "process-cold", cold)
	report(b, "process-warm", warm)
}

func report(b *testing.B, name string, d []time.Duration) {
	slices.Sort(d)
	pct := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))]) / 1e3 }
	b.ReportMetric(pct(0.50), name+"-p50-µs")
	b.ReportMetric(pct(0.99), name+"-p99-µs")
}

// crowd makes sure n processes run on the machine, starting sleeps for
// the missing ones; they are killed when the benchmark ends.
func crowd(b *testing.B, n int) {
	b.Helper()
	ents, err := os.ReadDir("/proc")
	running := 0
	if err == nil {
		for _, e := range ents {
			if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
				running++
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var cmds []*exec.Cmd
	b.Cleanup(func() {
		cancel()
		for _, c := range cmds {
			_ = c.Wait()
		}
	})
	for range n - running {
		c := exec.CommandContext(ctx, "sleep", "600")
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	b.Logf("%d processes running (%d started)", running+len(cmds), len(cmds))
}
