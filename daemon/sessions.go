package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
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
	slices.SortFunc(s.list, func(a, b sessionInfo) int { return compareNatural(a.name, b.name) })
	d.log.Info("sessions loaded", "store", s.store.Kind(), "sessions", len(s.list), "problems", len(s.probs))
}

// note updates one session's row of the listing after a sign-in, renewal
// or logout (a zero expiry: gone), without reading the store again.
func (s *sessions) note(name string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.list {
		if x.name != name {
			continue
		}
		if expires.IsZero() {
			s.list = append(s.list[:i], s.list[i+1:]...)
		} else {
			s.list[i].expires = expires
		}
		return
	}
	if expires.IsZero() {
		return
	}
	kind, _, _ := strings.Cut(name, "/") // "oidc/okta", "sso/corp"
	s.list = append(s.list, sessionInfo{name: name, kind: kind, expires: expires})
	slices.SortFunc(s.list, func(a, b sessionInfo) int { return compareNatural(a.name, b.name) })
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
		ss := control.SessionStatus{Name: x.name, Kind: x.kind, State: "stored", Expires: timePtr(x.expires)}
		if si := d.signin(x.name); si != nil {
			ss.State = "signed-in"
			if err := si.sess.NeedsLogin(); err != nil {
				ss.State, ss.Error = "login-required", err.Error()
			}
		}
		out = append(out, ss)
	}
	return st, out
}

// Logout forgets the named session, or every session when name is empty.
func (d *Daemon) Logout(ctx context.Context, name string) ([]string, error) {
	s := d.sessions
	if s.store == nil {
		return nil, nil
	}
	if name != "" {
		var err error
		if name, err = storedName(name, d.sessionNames()); err != nil {
			return nil, err
		}
	}
	// Sign-in sessions forget their tokens in memory and in the store.
	d.logins.mu.Lock()
	var signins []*signin
	for k, si := range d.logins.byName {
		if name == "" || k == name {
			signins = append(signins, si)
			d.logins.notified[k] = true // a logout is no reason to notify
		}
	}
	d.logins.mu.Unlock()
	var removed []string
	for _, si := range signins {
		if si.sess.Expiry().IsZero() {
			continue // not signed in
		}
		forget := si.sess.Forget
		if si.sso != nil {
			// Identity Center: sign out at the portal and remove what credd
			// wrote to the AWS CLI's cache, then forget.
			forget = func(ctx context.Context) error { return si.sso.Logout(ctx, si.sess) }
		}
		if err := forget(ctx); err != nil {
			return nil, fmt.Errorf("forgetting session %s: %w", si.sess.Name(), err)
		}
		removed = append(removed, si.sess.Name())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	sort.Strings(removed)
	if name != "" && len(removed) == 0 {
		return nil, cred.Errorf(cred.ErrUnknownSession, "no sign-in session %q", name)
	}
	d.log.Info("logged out", "sessions", removed)
	return removed, nil
}

// sessionNames lists the sessions the daemon knows: configured, and
// stored.
func (d *Daemon) sessionNames() []string {
	d.logins.mu.Lock()
	names := slices.Collect(maps.Keys(d.logins.byName))
	d.logins.mu.Unlock()
	d.sessions.mu.Lock()
	for _, x := range d.sessions.list {
		names = append(names, x.name)
	}
	d.sessions.mu.Unlock()
	slices.Sort(names)
	return slices.Compact(names)
}

// storedName is the name a session is kept under ("sso/corp") for name as
// a user writes it: that name, or the configuration's name for it
// ("corp", the sso_sessions or identity_providers entry) when only one
// known session has it.
func storedName(name string, known []string) (string, error) {
	if strings.Contains(name, "/") || slices.Contains(known, name) {
		return name, nil
	}
	var matches []string
	for _, k := range known {
		if _, n, _ := strings.Cut(k, "/"); n == name {
			matches = append(matches, k)
		}
	}
	switch len(matches) {
	case 0:
		return name, nil // the caller says there is no such session
	case 1:
		return matches[0], nil
	}
	return "", cred.Errorf(cred.ErrInvalid, "%q names sessions %s: name one of them", name, strings.Join(matches, " and "))
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
