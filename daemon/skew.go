package daemon

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/credd/credd/clock"
)

// MaxSkew is how far this machine's clock may be from the servers' before
// credd says so: well within SigV4's 15 minutes, because the expiry times
// credd compares with its clock come from the servers.
const MaxSkew = 5 * time.Minute

// skewWatch is a RoundTripper that compares every upstream answer's Date
// header with this machine's clock, so a clock far off is reported (log,
// `credd status`) instead of showing up as credentials that look expired,
// or valid for hours too long, or signatures AWS refuses.
type skewWatch struct {
	base  http.RoundTripper
	clock clock.Clock
	log   *slog.Logger

	mu   sync.Mutex
	host map[string]time.Duration // host -> skew (server minus local) beyond MaxSkew
}

func (s *skewWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := s.clock.Now()
	resp, err := s.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	date, perr := http.ParseTime(resp.Header.Get("Date"))
	if perr != nil {
		return resp, nil
	}
	now := s.clock.Now()
	local := sent.Add(now.Sub(sent) / 2)
	skew := date.Sub(local)
	off := skew > MaxSkew || skew < -MaxSkew
	s.mu.Lock()
	_, known := s.host[r.URL.Host]
	if off {
		s.host[r.URL.Host] = skew
	} else {
		delete(s.host, r.URL.Host)
	}
	s.mu.Unlock()
	if off && !known {
		s.log.Warn("this machine's clock is far off: fix it (time sync)", "host", r.URL.Host, "server_minus_local", skew.Round(time.Second).String())
	}
	return resp, nil
}

// problems describes the hosts whose clocks disagree with this machine's.
func (s *skewWatch) problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for h, d := range s.host {
		dir := "behind"
		if d < 0 {
			dir, d = "ahead of", -d
		}
		out = append(out, fmt.Sprintf("this machine's clock is %s %s %s (its Date header): when that is an AWS endpoint, this clock is wrong; AWS refuses signatures more than 15 minutes off, and credentials look expired or valid when they are not; enable time sync (timedatectl set-ntp true, or your OS's equivalent)",
			d.Round(time.Minute), dir, h))
	}
	sort.Strings(out)
	return out
}
