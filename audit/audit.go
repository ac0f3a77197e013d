// Package audit owns credd's audit log, <state_dir>/audit.jsonl: one JSON
// line per credentials answer and per refusal, saying which program of
// which user took (or was refused) which profile's credentials, through
// which endpoint and listener. Never a secret, token or link.
//
// The file is 0600 and rotated by size (10 MB, three old files kept, by
// default) with github.com/DeRuina/timberjack; credd does not rotate by
// hand. timberjack is a maintained fork of lumberjack (the same Logger,
// fields and rotation): lumberjack v2.2.1, its last release, starts a
// goroutine at the first write that trims old files, and nothing ever
// stops it (one leaked per log opened; natefinch/lumberjack#56, #205).
// timberjack's Close stops that goroutine and waits for it, so a closed
// Log leaves nothing running (TestCloseStopsEveryGoroutine). Refusals are folded
// (see fold.Window): at most one line per peer and reason per minute, with a
// count, so that nothing refused can fill the disk or push the real
// entries out of the rotation. Read reads the file and its rotated
// predecessors back, for `credd audit`.
package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/DeRuina/timberjack"

	"github.com/credd/credd/clock"
	"github.com/credd/credd/fold"
	"github.com/credd/credd/private"
)

// Endpoints, as the log names them.
const (
	EndpointIMDS              = "imds"
	EndpointContainer         = "container"
	EndpointConsole           = "console"
	EndpointExport            = "export"
	EndpointCredentialProcess = "credential_process"
	EndpointMetrics           = "metrics"
	// EndpointControl is a request on the control channel other than
	// credentials and console links (status, reload, sign-in, ...).
	EndpointControl = "control"
)

// Entry is one line of the audit log.
type Entry struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"`
	Profile  string    `json:"profile,omitempty"`
	Status   int       `json:"status"`
	// Reason says why a request was refused.
	Reason string `json:"reason,omitempty"`
	// UID is the peer's user: a UID on Unix, a SID on Windows; empty when
	// the OS could not tell (a container on a bridge).
	UID     string `json:"uid,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Exe     string `json:"exe,omitempty"`
	Cmdline string `json:"cmdline,omitempty"`
	// Client names the token: "default" for the owner token, a clients.*
	// name for a scoped one.
	Client   string `json:"client,omitempty"`
	Listener string `json:"listener,omitempty"`
	Remote   string `json:"remote,omitempty"`
	// Count is how many refusals the line stands for (folded ones
	// included); 0 on answers.
	Count int `json:"count,omitempty"`
}

// MaxCmdline bounds the command line kept in an entry, in bytes.
const MaxCmdline = 256

// Options configure a Log.
type Options struct {
	Path       string
	MaxSizeMB  int // rotate beyond this size; default 10
	MaxBackups int // rotated files kept; default 3
	// Window is the fold's window for refusals; default a minute.
	Window time.Duration
	// MaxPeers bounds the refusal keys held between flushes; default 1024.
	MaxPeers int
	Clock    clock.Clock
}

// Log is the audit log. It is safe for concurrent use.
type Log struct {
	clock clock.Clock
	fold  *fold.Window[pending]

	mu  sync.Mutex
	w   *timberjack.Logger
	buf []byte // whole lines not yet written: a write(2) per answer cost more than the answer
}

// bufSize bounds the lines held before they are written.
const bufSize = 32 << 10

// pending is a folded refusal: the entry and how to complete it.
type pending struct {
	e    Entry
	fill func(*Entry)
}

// Open opens (creating it 0600, or making an existing one 0600) the log.
func Open(o Options) (*Log, error) {
	if o.MaxSizeMB <= 0 {
		o.MaxSizeMB = 10
	}
	if o.MaxBackups <= 0 {
		o.MaxBackups = 3
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.MaxPeers <= 0 {
		o.MaxPeers = 1024
	}
	if err := private.CreateIfMissing(o.Path); err != nil {
		return nil, fmt.Errorf("creating the audit log: %w", err)
	}
	f, err := os.OpenFile(o.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	w := &timberjack.Logger{Filename: o.Path, MaxSize: o.MaxSizeMB, MaxBackups: o.MaxBackups, FileMode: 0o600}
	return &Log{
		clock: clock.Or(o.Clock),
		fold:  fold.New[pending](o.Window, o.MaxPeers),
		w:     w,
		buf:   make([]byte, 0, bufSize),
	}, nil
}

// Write writes e as one line (credentials answers). The line reaches the
// file at the next Flush (the daemon's, within a second) or when 32 KB
// are buffered. A zero Time is the clock's now.
func (l *Log) Write(e Entry) error {
	if e.Time.IsZero() {
		e.Time = l.clock.Now()
	}
	return l.write(e, false)
}

// WriteConn is Write for an answer on connection c: c's fields in place
// of e's UID, PID, Exe, Cmdline, Listener and Remote.
func (l *Log) WriteConn(e Entry, c *Conn) error {
	if e.Time.IsZero() {
		e.Time = l.clock.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > bufSize-1024 {
		if err := l.flushBuf(); err != nil {
			return err
		}
	}
	l.buf = append(appendConn(l.buf, e, c), '\n')
	return nil
}

// Refused records a refusal. Its key says what folds together (the peer
// and the reason, never anything the peer chooses freely such as a path).
// fill, if not nil, completes the entry (the process behind the peer) and
// is called only when a line is written.
func (l *Log) Refused(key string, e Entry, fill func(*Entry)) error {
	now := l.clock.Now()
	if e.Time.IsZero() {
		e.Time = now
	}
	write, n := l.fold.Add(key, now, pending{e: e, fill: fill})
	if !write {
		return nil
	}
	e.Count = n
	if fill != nil {
		fill(&e)
	}
	return l.write(e, true)
}

// Flush writes the buffered lines and the folded refusals whose window is
// over; the daemon calls it every second while the log is not Idle.
func (l *Log) Flush() error {
	err := l.flush(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(err, l.flushBuf())
}

// Idle reports whether Flush has nothing to do, now or later: no line
// buffered and no refusal key held (a key is held for a window after its
// last refusal, to fold the next ones and to write their count).
func (l *Log) Idle() bool {
	l.mu.Lock()
	empty := len(l.buf) == 0
	l.mu.Unlock()
	return empty && l.fold.Len() == 0
}

func (l *Log) flush(all bool) error {
	var errs []error
	for _, f := range l.fold.Due(l.clock.Now(), all) {
		e := f.Event.e
		e.Count = f.Count
		if f.Event.fill != nil {
			f.Event.fill(&e)
		}
		errs = append(errs, l.write(e, true))
	}
	return errors.Join(errs...)
}

// Close writes every folded refusal and closes the file. It returns when
// the rotation's cleanup of old files, if one is under way, is done.
func (l *Log) Close() error {
	err := l.flush(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(err, l.flushBuf(), l.w.Close())
}

// write adds e's line to the buffer; now: and writes the buffer out.
func (l *Log) write(e Entry, now bool) error {
	if len(e.Cmdline) > MaxCmdline {
		e.Cmdline = e.Cmdline[:MaxCmdline]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > bufSize-1024 {
		if err := l.flushBuf(); err != nil {
			return err
		}
	}
	l.buf = append(appendEntry(l.buf, e), '\n')
	if now {
		return l.flushBuf()
	}
	return nil
}

// flushBuf writes the buffered lines in one write, so that a rotation
// (decided per write) never splits a line between two files. l.mu is held.
func (l *Log) flushBuf() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	if err != nil {
		return fmt.Errorf("writing the audit log: %w", err)
	}
	return nil
}

// ErrNoLog means there is no audit log yet.
var ErrNoLog = fs.ErrNotExist
