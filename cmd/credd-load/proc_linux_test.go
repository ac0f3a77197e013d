package main

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// The process readers measure this test binary: resident memory grows
// when it touches a fresh mapping, and CPU time when it spins. The
// mapping is the test's own (mmap), not the Go heap's: a heap allocation
// may reuse pages an earlier test (or an earlier -count run) freed while
// they are still resident, and then the reading rightly does not grow.
func TestProcReaders(t *testing.T) {
	pid := os.Getpid()
	before, err := rss(pid)
	if err != nil || before <= 0 {
		t.Fatalf("rss = %d, %v", before, err)
	}
	buf, err := syscall.Mmap(-1, 0, 64<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(buf) })
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
}
