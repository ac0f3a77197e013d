package main

import (
	"os"
	"testing"
	"time"
)

// The process readers measure this test binary: resident memory grows
// when it touches a large allocation, and CPU time when it spins.
func TestProcReaders(t *testing.T) {
	pid := os.Getpid()
	before, err := rss(pid)
	if err != nil || before <= 0 {
		t.Fatalf("rss = %d, %v", before, err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	after, err := rss(pid)
	if err != nil || after < before+32<<20 {
		t.Fatalf("rss after touching 64 MiB: %d (before %d), %v", after, before, err)
	}
	c0, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the reading grows (however busy the machine is), for at
	// most a minute: a reader that never moves fails.
	var c1 time.Duration
	for end := time.Now().Add(time.Minute); c1-c0 < 10*time.Millisecond && time.Now().Before(end); {
		if c1, err = cpuTime(pid); err != nil {
			t.Fatal(err)
		}
	}
	if c1-c0 < 10*time.Millisecond {
		t.Fatalf("cpuTime grew by %v in a minute of spinning", c1-c0)
	}
	if _, err := rss(-1); err == nil {
		t.Fatal("rss of no process: no error")
	}
	_ = buf[len(buf)-1]
}
