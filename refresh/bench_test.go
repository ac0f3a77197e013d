package refresh

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/cred"
)

// BenchmarkIdleProfiles measures what a profile costs at rest: N
// refreshers, each fetched once and then waiting for its refresh point
// (an hour away), as a daemon with N profiles holds them. It reports the
// heap and goroutine stacks in use per profile, and goroutines per
// profile, with every refresher on one shared Scheduler (the daemon's
// way) and, for comparison, each running alone (Run: a goroutine each).
// Run:
//
//	go test -run '^$' -bench IdleProfiles -benchtime 3x ./refresh/
func BenchmarkIdleProfiles(b *testing.B) {
	for _, mode := range benchModes {
		for _, n := range []int{1000, 5000} {
			b.Run(fmt.Sprintf("%s/profiles=%d", mode.name, n), func(b *testing.B) {
				var perProfile, goroutines float64
				for range b.N {
					bytes, g := idleFootprint(b, n, mode.start)
					perProfile += bytes
					goroutines += g
				}
				b.ReportMetric(perProfile/float64(b.N), "B/profile")
				b.ReportMetric(goroutines/float64(b.N), "goroutines/profile")
			})
		}
	}
}

// idleFootprint starts n refreshers with start, fetches each once, and
// measures heap plus stacks, and goroutines, per profile at rest.
func idleFootprint(b *testing.B, n int, start func(ctx context.Context, wg *sync.WaitGroup, rs []*Refresher)) (bytes, goroutines float64) {
	b.Helper()
	b.StopTimer()
	before := memInUse()
	g0 := runtime.NumGoroutine()
	b.StartTimer()
	src := SourceFunc(func(context.Context) (cred.Credentials, error) {
		return cred.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token", Expires: time.Now().Add(time.Hour)}, nil
	})
	rs := make([]*Refresher, n)
	for i := range rs {
		rs[i] = New(fmt.Sprint("p", i), src, Options{Policy: DefaultPolicy()})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start(ctx, &wg, rs)
	for _, r := range rs {
		if _, err := r.Current(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // the steps that answered return
	after := memInUse()
	g1 := runtime.NumGoroutine()
	runtime.KeepAlive(rs)
	cancel()
	wg.Wait()
	b.StartTimer()
	return float64(after-before) / float64(n), float64(g1-g0) / float64(n)
}

// benchModes are the ways refreshers are started.
var benchModes = []struct {
	name  string
	start func(ctx context.Context, wg *sync.WaitGroup, rs []*Refresher)
}{
	{"scheduler", func(ctx context.Context, wg *sync.WaitGroup, rs []*Refresher) {
		s := NewScheduler(nil, nil)
		for _, r := range rs {
			r.Start(s)
		}
		wg.Go(func() { _ = s.Run(ctx) })
	}},
	{"alone", func(ctx context.Context, wg *sync.WaitGroup, rs []*Refresher) {
		for _, r := range rs {
			wg.Go(func() { _ = r.Run(ctx) })
		}
	}},
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
