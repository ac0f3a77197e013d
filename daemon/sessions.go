package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/control"
	"github.com/credd/credd/store"
)

// SessionStore is where sign-in sessions persist. The daemon reads every
// entry at start, lists them in status and metrics, and deletes them on
// logout.
type SessionStore = store.Store

// sessionEnvelope is the part of a stored session every kind shares.
type sessionEnvelope struct {
	Kind      string    `json:"kind"`
	ExpiresAt time.Time `json:"expires_at"`
}

type sessionInfo struct {
	name    string
	kind    string
	expires time.Time
}

// sessions is the daemon's view of the store.
type sessions struct {
	store SessionStore
	mu    sync.Mutex
	list  []sessionInfo
	probs []string
}

// loadSessions reads every stored session. An entry that cannot be read or
// parsed is reported (status, log) and skipped; it never stops the daemon.
func (d *Daemon) loadSessions(ctx context.Context) {
	s := d.sessions
	if s.store == nil {
		return
	}
	entries, problems := store.LoadAll(ctx, s.store)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list, s.probs = nil, nil
	for _, err := range problems {
		s.probs = append(s.probs, err.Error())
		d.log.Warn("stored session skipped", "error", err)
	}
	for k, raw := range entries {
		var env sessionEnvelope
		if err := json.Unmarshal(raw, &env); err != nil {
			s.probs = append(s.probs, fmt.Sprintf("session %s skipped: not a credd session (%v)", k, err))
			d.log.Warn("stored session skipped", "session", k, "error", err)
			continue
		}
		s.list = append(s.list, sessionInfo{name: k, kind: env.Kind, expires: env.ExpiresAt})
	}
	sort.Slice(s.list, func(i, j int) bool { return s.list[i].name < s.list[j].name })
	d.log.Info("sessions loaded", "store", s.store.Kind(), "sessions", len(s.list), "problems", len(s.probs))
}

func (d *Daemon) sessionStatus() (control.StoreStatus, []control.SessionStatus) {
	s := d.sessions
	st := control.StoreStatus{Kind: "none"}
	out := []control.SessionStatus{}
	if s.store == nil {
		return st, out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Kind, st.Problems = s.store.Kind(), append([]string(nil), s.probs...)
	for _, x := range s.list {
		out = append(out, control.SessionStatus{Name: x.name, Kind: x.kind, Expires: timePtr(x.expires)})
	}
	return st, out
}

// Logout forgets the named session, or every session when name is empty.
func (d *Daemon) Logout(ctx context.Context, name string) ([]string, error) {
	s := d.sessions
	if s.store == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed []string
	var keep []sessionInfo
	for _, x := range s.list {
		if name != "" && x.name != name {
			keep = append(keep, x)
			continue
		}
		if err := s.store.Delete(ctx, x.name); err != nil {
			return removed, fmt.Errorf("forgetting session %s: %w", x.name, err)
		}
		removed = append(removed, x.name)
	}
	s.list = keep
	if name != "" && len(removed) == 0 {
		return nil, fmt.Errorf("%w: no session %q", control.ErrUnknownProfile, name)
	}
	d.log.Info("logged out", "sessions", removed)
	return removed, nil
}

var sessionExpiryDesc = prometheus.NewDesc("credd_session_expiry_timestamp_seconds",
	"When each sign-in session expires (Unix time).", []string{"session"}, nil)

func (s *sessions) collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.list {
		if !x.expires.IsZero() {
			ch <- prometheus.MustNewConstMetric(sessionExpiryDesc, prometheus.GaugeValue, float64(x.expires.Unix()), x.name)
		}
	}
}
