package daemon

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/clock"
)

// TestRefusalLogFolds: 5,000 refusals with a 2 KB path from one peer make
// one line in the daemon's log, with the path cut, and a count after the
// minute. The held refusals alone keep the flush timer running; once the
// peer was quiet for a minute it is forgotten and the timer stops.
func TestRefusalLogFolds(t *testing.T) {
	clk := clock.NewFake(time.Now())
	t0 := clk.Now()
	r := startWith(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"),
		func(d *Deps) { d.Clock = clk })
	path := "/latest/" + strings.Repeat("a", 2048)
	for range 5000 {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Origin", "https://evil.example")
		w := httptest.NewRecorder()
		r.d.handler.ServeHTTP(w, req)
		if w.Code != 403 {
			t.Fatalf("a web page's request: %d, want 403", w.Code)
		}
	}
	refusals := func(msg string) []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(r.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
				out = append(out, m)
			}
		}
		return out
	}
	got := refusals("refused request")
	if len(got) != 1 {
		t.Fatalf("%d log lines for 5,000 refusals, want 1:\n%s", len(got), r.logs)
	}
	if p, _ := got[0]["path"].(string); p != path[:200]+"…" || got[0]["component"] != "http" || got[0]["remote"] != "192.0.2.1:1234" {
		t.Errorf("the line %v, want the endpoints' component, the remote and the path cut to 200 bytes", got[0])
	}

	eventually(t, "the flush timer", func() bool { at, ok := clk.Next(); return ok && at.Equal(t0.Add(flushEvery)) })
	clk.Advance(flushEvery)
	eventually(t, "the next flush timer, kept by the held refusals", func() bool { at, ok := clk.Next(); return ok && at.Equal(t0.Add(2*flushEvery)) })
	if f := refusals("refused requests (folded)"); len(f) != 0 {
		t.Fatalf("folded refusals logged before their minute is over: %v", f)
	}
	clk.Advance(time.Minute)
	eventually(t, "the folded refusals' line", func() bool { return len(refusals("refused requests (folded)")) == 1 })
	if f := refusals("refused requests (folded)")[0]; f["count"] != 4999.0 || f["path"] != path[:200]+"…" {
		t.Errorf("folded line %v, want a count of 4999 and the cut path", f)
	}
	clk.Advance(time.Minute)
	eventually(t, "the logs idle, the flush timer stopped", func() bool { return r.d.refusals.idle() && !r.d.logs.armed.Load() })
	if f := refusals("refused requests (folded)"); len(f) != 1 {
		t.Errorf("%d folded lines, want 1 (nothing was refused since)", len(f))
	}
}
