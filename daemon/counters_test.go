package daemon

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrapeText is what /metrics shows of reg, in the text format.
func scrapeText(t testing.TB, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func newRequestFamily() *counterFamily[requestLabels] {
	return newCounterFamily("credd_requests_total", "HTTP requests served, by endpoint, profile and status code.",
		[]string{"endpoint", "profile", "code"}, func(k requestLabels) []string {
			return []string{k.endpoint, k.profile, codeLabel(k.code)}
		})
}

// TestCounterFamilyScrapesAsCounterVec: what a scrape shows of a
// counterFamily, values and created timestamps included, is what it showed
// of the prometheus.CounterVec it replaced, for the same requests.
func TestCounterFamilyScrapesAsCounterVec(t *testing.T) {
	requests := []requestLabels{
		{"container", "dev", 200}, {"container", "dev", 200}, {"imds", "dev", 200},
		{"container", "", 401}, {"container", "team/ops", 503}, {"imds", "dev", 418}, {"container", "dev", 200},
	}
	vecReg, famReg := prometheus.NewRegistry(), prometheus.NewRegistry()
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "credd_requests_total",
		Help: "HTTP requests served, by endpoint, profile and status code.",
	}, []string{"endpoint", "profile", "code"})
	fam := newRequestFamily()
	vecReg.MustRegister(vec)
	famReg.MustRegister(fam)
	for _, r := range requests {
		vec.WithLabelValues(r.endpoint, r.profile, codeLabel(r.code)).Inc()
		fam.inc(r)
	}
	want, got := scrapeText(t, vecReg), scrapeText(t, famReg)
	if got != want {
		t.Errorf("counterFamily scrapes as\n%s\nCounterVec as\n%s", got, want)
	}
	if !bytes.Contains([]byte(got), []byte(`credd_requests_total{code="200",endpoint="container",profile="dev"} 3`)) {
		t.Errorf("scrape lacks the counted series:\n%s", got)
	}

	// Created timestamps: the clock's time when the series first counted.
	created := time.Date(2026, 12, 3, 4, 5, 6, 0, time.UTC)
	fam = newRequestFamily()
	fam.now = func() time.Time { return created }
	fam.inc(requestLabels{"imds", "dev", 200})
	ch := make(chan prometheus.Metric, 1)
	fam.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if ts := m.GetCounter().GetCreatedTimestamp().AsTime(); !ts.Equal(created) {
		t.Errorf("created timestamp %v, want %v", ts, created)
	}
}

// TestCounterFamilyCountsConcurrentIncrements: increments from many
// goroutines, on new and existing series alike, are all counted once.
func TestCounterFamilyCountsConcurrentIncrements(t *testing.T) {
	const goroutines, each, profiles = 8, 500, 7
	fam := newRequestFamily()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				fam.inc(requestLabels{"container", "p" + strconv.Itoa((g+i)%profiles), 200})
			}
		})
	}
	wg.Wait()
	var total uint64
	series := 0
	fam.each(func(_ requestLabels, v uint64) { total += v; series++ })
	if total != goroutines*each || series != profiles {
		t.Errorf("%d increments in %d series, want %d in %d", total, series, goroutines*each, profiles)
	}
}

// BenchmarkRequestSeries is the heap a new series of credd_requests_total
// costs (B/op: each op is a profile's first request) and the cost of
// counting on an existing one, for the CounterVec credd used before and
// the counterFamily it uses now.
func BenchmarkRequestSeries(b *testing.B) {
	impls := []struct {
		name string
		inc  func() func(k requestLabels)
	}{
		{"countervec", func() func(k requestLabels) {
			vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "credd_requests_total", Help: "h"}, []string{"endpoint", "profile", "code"})
			var cache sync.Map // as credd cached the resolved counters
			return func(k requestLabels) {
				c, ok := cache.Load(k)
				if !ok {
					c, _ = cache.LoadOrStore(k, vec.WithLabelValues(k.endpoint, k.profile, codeLabel(k.code)))
				}
				c.(prometheus.Counter).Inc()
			}
		}},
		{"family", func() func(k requestLabels) { return newRequestFamily().inc }},
	}
	for _, impl := range impls {
		b.Run(impl.name+"/new-series", func(b *testing.B) {
			names := make([]string, b.N)
			for i := range names {
				names[i] = fmt.Sprintf("p%07d", i)
			}
			inc := impl.inc()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				inc(requestLabels{"container", names[i], 200})
			}
		})
		b.Run(impl.name+"/existing-parallel", func(b *testing.B) {
			inc := impl.inc()
			k := requestLabels{"container", "dev", 200}
			inc(k)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					inc(k)
				}
			})
		})
	}
}
