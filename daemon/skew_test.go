package daemon

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
)

// TestClockSkewIsReported: upstream answers whose Date is far from this
// machine's clock make a status problem naming the host and the offset,
// logged once; an answer within MaxSkew clears it.
func TestClockSkewIsReported(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var offset atomic.Int64 // of the server's clock, in seconds
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", now.Add(time.Duration(offset.Load())*time.Second).Format(http.TimeFormat))
	}))
	t.Cleanup(srv.Close)
	cfg, err := config.Parse(strings.NewReader("profiles: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d, err := New(t.Context(), cfg, Deps{Clock: clock.NewFake(now), Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		offset time.Duration
		want   string // in the one problem; "" for none
	}{
		{"in step", 0, ""},
		{"two minutes: within MaxSkew", 2 * time.Minute, ""},
		{"server an hour ahead: this clock is behind", time.Hour, "this machine's clock is 1h0m0s behind " + host},
		{"still off: logged once", time.Hour, "1h0m0s behind"},
		{"server 47 minutes behind: this clock is ahead", -47 * time.Minute, "47m0s ahead of " + host},
		{"fixed", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offset.Store(int64(tc.offset / time.Second))
			resp, err := d.http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			probs := d.ControlBackend(ControlInfo{}).Status(t.Context()).Problems
			switch {
			case tc.want == "" && len(probs) != 0:
				t.Errorf("problems = %q, want none", probs)
			case tc.want != "" && (len(probs) != 1 || !strings.Contains(probs[0], tc.want) || !strings.Contains(probs[0], "time sync")):
				t.Errorf("problems = %q, want one saying %q and what to do", probs, tc.want)
			}
		})
	}
	if n := strings.Count(logs.String(), "clock is far off"); n != 1 {
		t.Errorf("logged the skew %d times, want 1 (once while it stays off)\n%s", n, logs.String())
	}
}
