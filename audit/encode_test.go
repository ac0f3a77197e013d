package audit

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAppendEntryIsEncodingJSON: the hand-written encoder writes what
// encoding/json writes, for every field set or not and for strings a
// hostile program may choose as its name or command line.
func TestAppendEntryIsEncodingJSON(t *testing.T) {
	full := Entry{Time: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC), Endpoint: EndpointContainer, Profile: "team/dev", Status: 403,
		Reason: "user 1001 may not use this credd", UID: "1001", PID: 4242, Exe: "/usr/bin/aws", Cmdline: "aws s3 ls",
		Client: "ci", Listener: "127.0.0.1:9955", Remote: "127.0.0.1:51234", Count: 17}
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"every field", full},
		{"nothing but the required", Entry{Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600)), Endpoint: EndpointIMDS, Status: 200}},
		{"quotes and escapes", Entry{Endpoint: "imds", Exe: "a\"b\\c\n\r\t\b\f\x00\x1f\x7f", Cmdline: "<script>&amp;</script>"}},
		{"unicode", Entry{Endpoint: "imds", Exe: "/opt/ünïcödé/程序", Cmdline: "line\u2028sep\u2029para 😀"}},
		{"invalid UTF-8", Entry{Endpoint: "imds", Exe: "bad\xff\xfe byte", Cmdline: "cut\xe2\x82"}},
		{"escape at the end", Entry{Endpoint: "imds", Exe: strings.Repeat("x", 10) + "\x01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendEntry(nil, tc.e); string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestConnIsAppendEntry: a line written with a connection's fields
// encoded once (NewConn, WriteConn) is the line Write writes.
func TestConnIsAppendEntry(t *testing.T) {
	base := Entry{Time: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC), Endpoint: EndpointIMDS, Profile: "dev", Status: 200, Client: "default"}
	for _, tc := range []struct {
		name string
		conn Entry
	}{
		{"every field", Entry{UID: "1001", PID: 4242, Exe: "/usr/bin/aws", Cmdline: "aws s3 ls", Listener: "127.0.0.1:9955", Remote: "127.0.0.1:51234"}},
		{"a container: no owner, no process", Entry{Listener: "10.88.0.1:9955", Remote: "10.88.0.5:40000"}},
		{"hostile names", Entry{UID: "1001", Exe: "a\"b\\c\n\x00<>&\xff", Cmdline: "line\u2028sep"}},
		{"a command line beyond the limit", Entry{UID: "1001", PID: 7, Cmdline: strings.Repeat("c", MaxCmdline+50)}},
		{"nothing", Entry{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := t.TempDir() + "/audit.jsonl"
			l, err := Open(Options{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			e := base
			e.UID, e.PID, e.Exe, e.Cmdline, e.Listener, e.Remote = tc.conn.UID, tc.conn.PID, tc.conn.Exe, tc.conn.Cmdline, tc.conn.Listener, tc.conn.Remote
			if err := l.Write(e); err != nil {
				t.Fatal(err)
			}
			// WriteConn ignores the entry's own connection fields.
			if err := l.WriteConn(Entry{Time: base.Time, Endpoint: base.Endpoint, Profile: base.Profile, Status: base.Status, Client: base.Client, UID: "ignored", Exe: "ignored"}, NewConn(tc.conn)); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			if len(lines) != 2 || lines[0] != lines[1] {
				t.Errorf("Write and WriteConn differ:\n%s", raw)
			}
		})
	}
}
