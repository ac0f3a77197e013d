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
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	refresh  *prometheus.CounterVec
	// lastSummary is touched only by the Run loop.
	lastSummary map[requestKey]float64
	counters    sync.Map // requestLabels -> prometheus.Counter
	observers   sync.Map // endpoint -> prometheus.Observer
}

var allStates = []refresh.State{
	refresh.StateIdle, refresh.StateFresh, refresh.StateRefreshing, refresh.StateStale,
	refresh.StateExpired, refresh.StateError, refresh.StateLoginRequired, refresh.StateMFARequired,
}

func newMetrics(reg prometheus.Registerer, d *Daemon) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credd_requests_total",
			Help: "HTTP requests served, by endpoint, profile and status code.",
		}, []string{"endpoint", "profile", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "credd_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by endpoint.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5},
		}, []string{"endpoint"}),
		refresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credd_refreshes_total",
			Help: "Upstream credential fetches, by profile and result (ok or error).",
		}, []string{"profile", "result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.refresh, stateCollector{d}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRequest implements imds.Metrics. The resolved counter and
// histogram are cached: WithLabelValues hashes and validates the labels and
// takes a lock on every call, which was the largest cost credd added to a
// request. The label sets are bounded: profile is set only for configured
// profiles.
func (m *metrics) ObserveRequest(endpoint, profile string, status int, d time.Duration) {
	k := requestLabels{endpoint, profile, status}
	c, ok := m.counters.Load(k)
	if !ok {
		c, _ = m.counters.LoadOrStore(k, m.requests.WithLabelValues(endpoint, profile, codeLabel(status)))
	}
	c.(prometheus.Counter).Inc()
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

func (m *metrics) observeRefresh(profile string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.refresh.WithLabelValues(profile, result).Inc()
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
