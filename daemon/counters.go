package daemon

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counterFamily is a Prometheus counter family whose series cost a map
// entry and two words each. prometheus.CounterVec keeps, per series, a
// counter with its label pairs (in their protobuf form), its created
// timestamp and its entry in a hashed map: about 1 KB, which at 5,000
// profiles each fetched once was 5 MB of the daemon's heap for the two
// numbers a profile has (its requests and its refreshes). Here a series is
// built only when scraped.
//
// K is the comparable set of label values; labels turns it into the
// values in the order of desc's variable labels.
type counterFamily[K comparable] struct {
	desc   *prometheus.Desc
	labels func(K) []string
	now    func() time.Time
	series sync.Map // K -> *counterSeries
}

type counterSeries struct {
	n       atomic.Uint64
	created int64 // Unix nanoseconds
}

func newCounterFamily[K comparable](name, help string, labelNames []string, labels func(K) []string) *counterFamily[K] {
	return &counterFamily[K]{desc: prometheus.NewDesc(name, help, labelNames, nil), labels: labels, now: time.Now}
}

// inc adds one to k's series, creating it at zero first if need be. It
// takes no lock once the series exists.
func (f *counterFamily[K]) inc(k K) {
	s, ok := f.series.Load(k)
	if !ok {
		s, _ = f.series.LoadOrStore(k, &counterSeries{created: f.now().UnixNano()})
	}
	s.(*counterSeries).n.Add(1)
}

// each calls fn with every series' labels and value.
func (f *counterFamily[K]) each(fn func(k K, v uint64)) {
	f.series.Range(func(k, s any) bool {
		fn(k.(K), s.(*counterSeries).n.Load())
		return true
	})
}

func (f *counterFamily[K]) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f *counterFamily[K]) Collect(ch chan<- prometheus.Metric) {
	f.series.Range(func(k, v any) bool {
		s := v.(*counterSeries)
		ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(f.desc, prometheus.CounterValue,
			float64(s.n.Load()), time.Unix(0, s.created), f.labels(k.(K))...)
		return true
	})
}
