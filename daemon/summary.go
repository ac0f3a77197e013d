package daemon

import (
	"slices"
	"time"
)

// summaryEvery is how often served requests are summarised in the log.
const summaryEvery = time.Minute

// logSummary logs, per profile, the requests served since the last
// summary, read from the request counter so the hot path pays nothing.
func (d *Daemon) logSummary() {
	now := d.metrics.requestTotals()
	prev := d.metrics.lastSummary
	d.metrics.lastSummary = now
	byProfile := map[string]map[string]float64{}
	for k, v := range now {
		if delta := v - prev[k]; delta > 0 {
			if byProfile[k.profile] == nil {
				byProfile[k.profile] = map[string]float64{}
			}
			byProfile[k.profile][k.code] += delta
		}
	}
	profiles := make([]string, 0, len(byProfile))
	for p := range byProfile {
		profiles = append(profiles, p)
	}
	slices.SortFunc(profiles, compareNatural)
	for _, p := range profiles {
		var ok, failed float64
		for code, n := range byProfile[p] {
			if code == "200" {
				ok += n
			} else {
				failed += n
			}
		}
		name := p
		if name == "" {
			name = "(none)"
		}
		d.log.Info("served", "profile", name, "ok", int64(ok), "failed", int64(failed), "codes", byProfile[p], "period", summaryEvery.String())
	}
}

type requestKey struct{ profile, code string }

// requestTotals reads the request counters.
func (m *metrics) requestTotals() map[requestKey]float64 {
	out := map[requestKey]float64{}
	m.requests.each(func(k requestLabels, v uint64) {
		out[requestKey{k.profile, codeLabel(k.code)}] += float64(v)
	})
	return out
}
