package daemon

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/fold"
)

// refusalLog writes the endpoints' refusals (imds.Options.Refused) to the
// daemon's log, folded: the first of a peer (its address without the
// port) and reason in a minute at once, the rest as one count when the
// minute is over (flush). A looping client must not fill the log: the key
// holds nothing the client chooses, the path is cut to 200 bytes, and at
// most 1,024 peers are held between flushes.
type refusalLog struct {
	log    *slog.Logger
	clock  clock.Clock
	window *fold.Window[refusal]
	// pending wakes the log flusher: a folded refusal waits for flush.
	pending func()
}

// refusal is a folded line of the log.
type refusal struct {
	msg, remote, path string
}

func newRefusalLog(log *slog.Logger, clk clock.Clock, pending func()) *refusalLog {
	return &refusalLog{log: log, clock: clock.Or(clk), window: fold.New[refusal](time.Minute, 1024), pending: pending}
}

// refused implements imds.Options.Refused.
func (l *refusalLog) refused(r *http.Request, reason, msg string) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	if write, _ := l.window.Add(host+"|"+reason, l.clock.Now(), refusal{msg: msg, remote: r.RemoteAddr, path: path}); write {
		l.log.Warn("refused request", "reason", msg, "remote", r.RemoteAddr, "path", path)
	}
	l.pending()
}

// flush logs the refusals folded in the last minute, one line per peer
// and reason with their count.
func (l *refusalLog) flush() {
	for _, f := range l.window.Due(l.clock.Now(), false) {
		l.log.Warn("refused requests (folded)", "reason", f.Event.msg, "count", f.Count, "remote", f.Event.remote, "path", f.Event.path)
	}
}

// idle reports whether flush has nothing to do, now or later: no peer's
// refusals held (a peer is held for a minute after its last one).
func (l *refusalLog) idle() bool { return l.window.Len() == 0 }
