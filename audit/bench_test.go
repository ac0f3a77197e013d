package audit

import (
	"path/filepath"
	"testing"
)

// BenchmarkWrite is what one credentials answer pays for its line.
func BenchmarkWrite(b *testing.B) {
	l, err := Open(Options{Path: filepath.Join(b.TempDir(), "audit.jsonl")})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e := Entry{Endpoint: EndpointIMDS, Profile: "dev", Status: 200, UID: "1000", PID: 4242, Exe: "/usr/bin/aws",
		Cmdline: "/usr/bin/python3 /usr/bin/aws s3 ls", Client: "default", Listener: "127.0.0.1:9955", Remote: "127.0.0.1:51234"}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Write(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteConn is BenchmarkWrite with the connection's fields
// encoded once (as the daemon does per connection).
func BenchmarkWriteConn(b *testing.B) {
	l, err := Open(Options{Path: filepath.Join(b.TempDir(), "audit.jsonl")})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c := NewConn(Entry{UID: "1000", PID: 4242, Exe: "/usr/bin/aws", Cmdline: "/usr/bin/python3 /usr/bin/aws s3 ls",
		Listener: "127.0.0.1:9955", Remote: "127.0.0.1:51234"})
	e := Entry{Endpoint: EndpointIMDS, Profile: "dev", Status: 200, Client: "default"}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.WriteConn(e, c); err != nil {
			b.Fatal(err)
		}
	}
}
