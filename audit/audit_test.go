package audit

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credd/credd/clock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, o Options) (*Log, string) {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "audit.jsonl")
	}
	l, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, o.Path
}

// readAll flushes l (if any) and reads its file.
func readAll(t *testing.T, l *Log, path string, f Filter) []Entry {
	t.Helper()
	if l != nil {
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var out []Entry
	if err := Read(path, f, func(e Entry) { out = append(out, e) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkPrivate(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %04o, want 0600", path, fi.Mode().Perm())
	}
}

func TestOpenMakesTheFilePrivate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(path string) error
	}{
		{"new", func(string) error { return nil }},
		{"existing 0644", func(p string) error { return os.WriteFile(p, []byte("{}\n"), 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := tc.before(path); err != nil {
				t.Fatal(err)
			}
			l, _ := open(t, Options{Path: path})
			if err := l.Write(Entry{Endpoint: EndpointIMDS, Status: 200}); err != nil {
				t.Fatal(err)
			}
			checkPrivate(t, path)
		})
	}
}

func TestWriteAndRead(t *testing.T) {
	fc := clock.NewFake(t0)
	l, path := open(t, Options{Clock: fc})
	long := strings.Repeat("a", 1000)
	for i, e := range []Entry{
		{Endpoint: EndpointIMDS, Profile: "dev", Status: 200, UID: "1000", PID: 42, Exe: "/usr/bin/aws", Cmdline: "aws s3 ls", Client: "default", Listener: "127.0.0.1:9955", Remote: "127.0.0.1:5000"},
		{Endpoint: EndpointContainer, Profile: "ops", Status: 200, Cmdline: long},
		{Endpoint: EndpointExport, Profile: "dev", Status: 200},
	} {
		fc.Advance(time.Duration(i) * time.Hour)
		if err := l.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	all := readAll(t, l, path, Filter{})
	if len(all) != 3 {
		t.Fatalf("read %d entries, want 3: %+v", len(all), all)
	}
	if e := all[0]; !e.Time.Equal(t0) || e.PID != 42 || e.Exe != "/usr/bin/aws" || e.Client != "default" || e.Count != 0 {
		t.Errorf("first entry = %+v", e)
	}
	if n := len(all[1].Cmdline); n != MaxCmdline {
		t.Errorf("cmdline kept %d bytes, want %d", n, MaxCmdline)
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want int
	}{
		{"profile", Filter{Profile: "dev"}, 2},
		{"since", Filter{Since: t0.Add(30 * time.Minute)}, 2},
		{"both", Filter{Since: t0.Add(30 * time.Minute), Profile: "dev"}, 1},
		{"none", Filter{Profile: "nope"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readAll(t, l, path, tc.f); len(got) != tc.want {
				t.Errorf("%d entries, want %d", len(got), tc.want)
			}
		})
	}
	if err := Read(filepath.Join(t.TempDir(), "none.jsonl"), Filter{}, func(Entry) {}); err != ErrNoLog {
		t.Errorf("no log: %v, want ErrNoLog", err)
	}
}

// TestRefusalsFold: a script refused 5,000 times with a 2 KB path writes
// two lines a minute, not 5,000; the count adds up; the process is looked
// up only for lines written.
func TestRefusalsFold(t *testing.T) {
	fc := clock.NewFake(t0)
	l, path := open(t, Options{Clock: fc})
	fills := 0
	fill := func(e *Entry) { fills++; e.PID = 7 }
	refuse := func(key, reason string) {
		t.Helper()
		e := Entry{Endpoint: EndpointIMDS, Status: 403, Reason: reason, UID: "1001", Remote: "127.0.0.1:" + strings.Repeat("9", 2000)}
		if err := l.Refused(key, e, fill); err != nil {
			t.Fatal(err)
		}
	}
	for range 5000 {
		refuse("1001|user", "user 1001 is not allowed")
		fc.Advance(10 * time.Millisecond) // 50 s in all
	}
	refuse("1002|user", "user 1002 is not allowed")
	got := readAll(t, l, path, Filter{})
	if len(got) != 2 || got[0].Count != 1 || got[1].UID != "1001" && got[1].Reason != "user 1002 is not allowed" {
		t.Fatalf("before the minute is over: %d lines %+v, want the first of each peer", len(got), got)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l, path, Filter{}); len(got) != 2 {
		t.Fatalf("a flush within the minute wrote %d lines, want none", len(got)-2)
	}
	fc.Advance(15 * time.Second)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	got = readAll(t, l, path, Filter{})
	if len(got) != 3 || got[2].Count != 4999 || got[2].PID != 7 {
		t.Fatalf("after the minute: %+v, want a third line with count 4999", got)
	}
	if fills != 3 {
		t.Errorf("the process was looked up %d times, want 3 (once per line)", fills)
	}
	fi, _ := os.Stat(path)
	if fi.Size() > 3*3000 {
		t.Errorf("the log holds %d bytes for 5,001 refusals", fi.Size())
	}
	// Quiet for a minute: the keys are forgotten; a new refusal is a
	// new first line.
	fc.Advance(2 * time.Minute)
	_ = l.Flush()
	if n := l.fold.Len(); n != 0 {
		t.Errorf("%d keys kept after a quiet minute", n)
	}
	refuse("1001|user", "user 1001 is not allowed")
	if got := readAll(t, l, path, Filter{}); len(got) != 4 || got[3].Count != 1 {
		t.Fatalf("after a quiet minute: %+v", got)
	}
	// Close writes what is still folded.
	refuse("1001|user", "user 1001 is not allowed")
	refuse("1001|user", "user 1001 is not allowed")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, nil, path, Filter{}); len(got) != 5 || got[4].Count != 2 {
		t.Fatalf("after Close: %+v", got)
	}
}

// TestRotation: the log stays within its size, keeps its backups private,
// and Read returns everything still kept in order.
func TestRotation(t *testing.T) {
	l, path := open(t, Options{MaxSizeMB: 1, MaxBackups: 2})
	pad := strings.Repeat("x", 200)
	const n = 12000 // about 3 MB of lines
	for i := range n {
		if err := l.Write(Entry{Time: t0.Add(time.Duration(i) * time.Second), Endpoint: EndpointIMDS, Status: 200, Cmdline: pad}); err != nil {
			t.Fatal(err)
		}
	}
	// Old backups are removed in the rotation library's goroutine, after
	// the rotation; Close waits for it.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := Files(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("files = %q, want two backups and the current one", files)
	}
	var total int64
	for _, f := range files {
		checkPrivate(t, f)
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if total > 3<<20 {
		t.Errorf("%d bytes kept, want at most 3 MB", total)
	}
	got := readAll(t, l, path, Filter{})
	if len(got) == 0 || len(got) >= n {
		t.Fatalf("read %d entries", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Sub(got[i-1].Time) != time.Second {
			t.Fatalf("entries out of order or missing at %d: %v then %v", i, got[i-1].Time, got[i].Time)
		}
	}
	if !got[len(got)-1].Time.Equal(t0.Add((n - 1) * time.Second)) {
		t.Errorf("the last entry is %v", got[len(got)-1].Time)
	}
}

func TestFollow(t *testing.T) {
	l, path := open(t, Options{MaxSizeMB: 1, MaxBackups: 1})
	if err := l.Write(Entry{Endpoint: EndpointIMDS, Profile: "dev", Status: 200, PID: 0}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var seen []Entry
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, path, Filter{Profile: "dev"}, 5*time.Millisecond, func(e Entry) {
			mu.Lock()
			seen = append(seen, e)
			mu.Unlock()
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute) // a bound on a hang, for a loaded machine
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (seen %d)", what, count())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The current file's lines, then those written later, also across a
	// rotation (1 MB of other profiles' lines in between).
	_ = l.Write(Entry{Endpoint: EndpointIMDS, Profile: "dev", Status: 200, PID: 1})
	_ = l.Flush()
	waitFor("the first lines", func() bool { return count() == 2 })
	pad := strings.Repeat("x", 250)
	for range 4500 {
		_ = l.Write(Entry{Endpoint: EndpointIMDS, Profile: "other", Status: 200, Cmdline: pad})
	}
	_ = l.Write(Entry{Endpoint: EndpointIMDS, Profile: "dev", Status: 200, PID: 2})
	_ = l.Flush()
	waitFor("the line after the rotation", func() bool { return count() == 3 })
	mu.Lock()
	defer mu.Unlock()
	if seen[0].PID != 0 || seen[1].PID != 1 || seen[2].PID != 2 {
		t.Fatalf("seen %+v", seen)
	}
}

// TestCloseStopsEveryGoroutine: a Log that was opened, written, rotated
// (its backups trimmed) and closed leaves no goroutine behind. The
// rotation library's cleanup runs in a goroutine of its own, started at
// the first write; Close must stop it and wait for it.
func TestCloseStopsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	const logs = 5
	for range logs {
		l, err := Open(Options{Path: filepath.Join(t.TempDir(), "audit.jsonl"), MaxSizeMB: 1, MaxBackups: 1})
		if err != nil {
			t.Fatal(err)
		}
		pad := strings.Repeat("x", 200)
		for range 12000 { // about 3 MB: two rotations, one backup removed
			if err := l.Write(Entry{Time: t0, Endpoint: EndpointIMDS, Status: 200, Cmdline: pad}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Goroutines that end are gone by the time Close returns; give the
	// runtime a moment only to let exited goroutines be counted out.
	var after int
	for range 50 {
		if after = runtime.NumGoroutine(); after <= before {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if after > before {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines before %d logs were opened, rotated and closed, %d after:\n%s", before, logs, after, buf)
	}
}
