package audit

import (
	"encoding/json"
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
