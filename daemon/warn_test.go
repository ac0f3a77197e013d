package daemon

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/config"
	"github.com/credd/credd/store"
)

type recordingNotifier struct {
	mu    sync.Mutex
	notes []string
}

func (r *recordingNotifier) Notify(title, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, title+": "+msg)
}

// all returns the notifications so far. The daemon notifies from its own
// goroutines (its summary tick warns of sessions ending), so a test reads
// them only through this.
func (r *recordingNotifier) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notes...)
}

func TestWarnsOnceBeforeASessionEnds(t *testing.T) {
	now := time.Now()
	sessions := store.NewMemory()
	put := func(key string, refreshEnd time.Time) {
		t.Helper()
		raw, _ := json.Marshal(map[string]any{
			"kind": strings.Split(key, "/")[0], "expires_at": refreshEnd,
			"tokens": map[string]any{"id_token": "x", "refresh_token": "r", "expiry": now.Add(time.Hour), "refresh_expiry": refreshEnd},
		})
		if err := sessions.Put(t.Context(), key, raw); err != nil {
			t.Fatal(err)
		}
	}
	put("oidc/soon", now.Add(40*time.Minute))
	put("oidc/later", now.Add(3*time.Hour))
	// An Identity Center session ends with its client registration.
	put("sso/corp", now.Add(5*time.Hour))
	cfg, err := config.Parse(strings.NewReader(`identity_providers:
  soon: {issuer: "https://soon.example.com", client_id: c}
  later: {issuer: "https://later.example.com", client_id: c}
sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
profiles:
  a: {identity_provider: soon, role_arn: "arn:aws:iam::111122223333:role/a"}
`))
	if err != nil {
		t.Fatal(err)
	}
	n := &recordingNotifier{}
	d, err := New(t.Context(), cfg, Deps{Sessions: sessions, Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	d.sessions.warnEnds(now)
	d.sessions.warnEnds(now.Add(time.Minute))
	if len(n.notes) != 1 || !strings.Contains(n.notes[0], "oidc/soon ends at") || !strings.Contains(n.notes[0], "credd login --provider soon") {
		t.Fatalf("notifications = %q, want one for oidc/soon naming the command", n.notes)
	}
	// Two and a bit hours later the other one is due, once.
	d.sessions.warnEnds(now.Add(2*time.Hour + 10*time.Minute))
	d.sessions.warnEnds(now.Add(2*time.Hour + 11*time.Minute))
	if len(n.notes) != 2 || !strings.Contains(n.notes[1], "oidc/later") {
		t.Errorf("notifications = %q", n.notes)
	}
	d.sessions.warnEnds(now.Add(4*time.Hour + 10*time.Minute))
	d.sessions.warnEnds(now.Add(4*time.Hour + 11*time.Minute))
	if len(n.notes) != 3 || !strings.Contains(n.notes[2], "sso/corp") || !strings.Contains(n.notes[2], "credd login --sso-session corp") {
		t.Errorf("notifications = %q, want a third for sso/corp", n.notes)
	}
}

// TestSessionEndWarningKeepsTheDaemonsClock: the running daemon looks
// for sessions about to end every minute of its clock (Deps.Clock), and
// measures "within the hour" on that clock: a session ending 40 minutes
// from the clock's now is warned of at the first look.
func TestSessionEndWarningKeepsTheDaemonsClock(t *testing.T) {
	// A day ahead of real time: a warning measured on real time would not
	// come (the session would end 24h40m from then).
	clk := clock.NewFake(time.Now().Add(24 * time.Hour).Round(time.Second))
	sessions := store.NewMemory()
	end := clk.Now().Add(40 * time.Minute)
	raw, _ := json.Marshal(map[string]any{
		"kind": "oidc", "expires_at": end,
		"tokens": map[string]any{"id_token": "x", "refresh_token": "r", "expiry": clk.Now().Add(30 * time.Minute), "refresh_expiry": end},
	})
	if err := sessions.Put(t.Context(), "oidc/soon", raw); err != nil {
		t.Fatal(err)
	}
	n := &recordingNotifier{}
	startWith(t, `identity_providers:
  soon: {issuer: "https://soon.example.com", client_id: c}
profiles:
  a: {identity_provider: soon, role_arn: "arn:aws:iam::111122223333:role/a"}
`, "", func(d *Deps) {
		d.Sessions, d.Notifier, d.Clock = sessions, n, clk
	})
	notes := func() []string {
		n.mu.Lock()
		defer n.mu.Unlock()
		return append([]string(nil), n.notes...)
	}
	// The clock moves a second at a time until the warning comes: the
	// first look is a minute of the clock after Run began.
	var advanced time.Duration
	deadline := time.Now().Add(10 * time.Second)
	for len(notes()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no warning after %s of the daemon's clock", advanced)
		}
		clk.Advance(time.Second)
		advanced += time.Second
		time.Sleep(2 * time.Millisecond)
	}
	if advanced < time.Minute {
		t.Errorf("warned after %s of the clock, before its first look a minute in", advanced)
	}
	if got := notes(); len(got) != 1 || !strings.Contains(got[0], "oidc/soon ends at") {
		t.Errorf("notifications %q, want one for oidc/soon", got)
	}
}
