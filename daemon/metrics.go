package daemon

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/refresh"
)

// metrics are credd's Prometheus metrics, registered on the registerer the
// daemon was given (never the global one).
type metrics struct {
	requests *counterFamily[requestLabels]
	latency  *prometheus.HistogramVec
	refresh  *counterFamily[refreshLabels]
	// lastSummary is touched only by the Run loop.
	lastSummary map[requestKey]float64
	observers   sync.Map // endpoint -> prometheus.Observer
}

var allStates = []refresh.State{
	refresh.StateIdle, refresh.StateFresh, refresh.StateRefreshing, refresh.StateStale,
	refresh.StateExpired, refresh.StateError, refresh.StateLoginRequired, refresh.StateMFARequired,
}

func newMetrics(reg prometheus.Registerer, d *Daemon) (*metrics, error) {
	m := &metrics{
		requests: newCounterFamily("credd_requests_total", "HTTP requests served, by endpoint, profile and status code.",
			[]string{"endpoint", "profile", "code"}, func(k requestLabels) []string {
				return []string{k.endpoint, k.profile, codeLabel(k.code)}
			}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "credd_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by endpoint.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5},
		}, []string{"endpoint"}),
		refresh: newCounterFamily("credd_refreshes_total", "Upstream credential fetches, by profile and result (ok or error).",
			[]string{"profile", "result"}, func(k refreshLabels) []string {
				result := "ok"
				if k.failed {
					result = "error"
				}
				return []string{k.profile, result}
			}),
	}
	if d != nil && d.clock != nil {
		m.requests.now, m.refresh.now = d.clock.Now, d.clock.Now
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.refresh, stateCollector{d}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRequest implements imds.Metrics. The counter is a counterFamily
// series and the histogram's observer is cached: WithLabelValues hashes and
// validates the labels and takes a lock on every call, which was the
// largest cost credd added to a request. The label sets are bounded:
// profile is set only for configured profiles.
func (m *metrics) ObserveRequest(endpoint, profile string, status int, d time.Duration) {
	m.requests.inc(requestLabels{endpoint, profile, status})
	o, ok := m.observers.Load(endpoint)
	if !ok {
		o, _ = m.observers.LoadOrStore(endpoint, m.latency.WithLabelValues(endpoint))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

type requestLabels struct {
	endpoint, profile string
	code              int
}

type refreshLabels struct {
	profile string
	failed  bool
}

func (m *metrics) observeRefresh(profile string, err error) {
	m.refresh.inc(refreshLabels{profile, err != nil})
}

// codeLabel avoids an allocation for the common codes.
func codeLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 405:
		return "405"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}

var (
	expiryDesc = prometheus.NewDesc("credd_credentials_expiry_timestamp_seconds",
		"When each profile's cached credentials expire (Unix time).", []string{"profile"}, nil)
	stateDesc = prometheus.NewDesc("credd_refresher_state",
		"1 for each profile's current refresher state.", []string{"profile", "state"}, nil)
)

// stateCollector reads refresher status at scrape time.
type stateCollector struct{ d *Daemon }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- expiryDesc
	ch <- stateDesc
	ch <- sessionExpiryDesc
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.sessions.collect(ch)
	for _, st := range c.d.Status() {
		if !st.Expires.IsZero() {
			ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, float64(st.Expires.Unix()), st.Profile)
		}
		for _, s := range allStates {
			v := 0.0
			if s == st.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, v, st.Profile, string(s))
		}
	}
}
