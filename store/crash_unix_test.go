//go:build unix

package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// crashEnv tells the test binary, run again as a child by TestKillDuringPut,
// to act as TestCrashChild: write values into the File store in the named
// directory until it is killed.
const crashEnv = "CREDD_STORE_CRASH_CHILD_DIR"

const (
	crashKey       = "sso/corp"
	crashMaxWrites = 500 // the child stops by itself after this many
)

// crashValue returns the i-th value the crash test writes: 1 to 8 MiB,
// marked with i at both ends and filled with a byte that depends on i, so a
// torn, truncated or mixed entry cannot pass for a complete one.
func crashValue(i int) []byte {
	size := (1 + i*3%8) << 20
	head := fmt.Sprintf("value %08d size %d\n", i, size)
	tail := fmt.Sprintf("\nend %08d\n", i)
	v := bytes.Repeat([]byte{byte('A' + i%26)}, size)
	copy(v, head)
	copy(v[size-len(tail):], tail)
	return v
}

// crashValueIndex returns the i a crashValue starts with.
func crashValueIndex(v []byte) (int, bool) {
	var i, size int
	if _, err := fmt.Sscanf(string(v[:min(len(v), 40)]), "value %d size %d\n", &i, &size); err != nil {
		return 0, false
	}
	return i, true
}

// TestCrashChild is not a test on its own: TestKillDuringPut runs the test
// binary again with crashEnv set, and this loop is what it kills. It reports
// on file descriptor 3 "start i" just before Put(i) and "done i" once Put(i)
// has returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process for TestKillDuringPut")
	}
	progress := os.NewFile(3, "progress")
	s, err := NewFile(dir)
	if err != nil {
		fmt.Fprintf(progress, "error %v\n", err)
		t.Fatal(err)
	}
	for i := 1; i <= crashMaxWrites; i++ {
		v := crashValue(i)
		fmt.Fprintf(progress, "start %d\n", i)
		if err := s.Put(context.Background(), crashKey, v); err != nil {
			fmt.Fprintf(progress, "error %v\n", err)
			t.Fatal(err)
		}
		fmt.Fprintf(progress, "done %d\n", i)
	}
}

// TestKillDuringPut: kill -9 during a store write leaves the previous value
// intact. A child process writes 1–8 MiB values into a File store in a
// loop; the parent kills it (SIGKILL) at a chosen step of a chosen write and
// then checks the entry is exactly one complete value: the last one
// acknowledged, or the one in flight if its rename happened before the
// kill, never a torn or mixed one. The steps come from the child ("start k"
// just before Put, "done k" after it returns) and, on Linux, from inotify
// on the store's directory ("create k": the temp file exists and is being
// written; "modify k": its data is written and the sync is under way;
// "close k": synced and closed, the rename is next). Nothing waits on time.
func TestKillDuringPut(t *testing.T) {
	if testing.Short() {
		t.Skip("writes tens of MiB")
	}
	cases := []struct {
		event string
		write int
	}{
		{"start", 1}, // the first child write in flight: the parent's value must survive
		{"create", 1},
		{"modify", 2},
		{"close", 3},
		{"done", 3},
		{"start", 4},
		{"create", 5}, // an 8 MiB value
		{"modify", 6},
		{"close", 7},
		{"done", 8},
	}
	midWrite, ran := 0, 0
	for _, tc := range cases {
		t.Run(fmt.Sprintf("kill at %s %d", tc.event, tc.write), func(t *testing.T) {
			if tc.event != "start" && tc.event != "done" && !haveWatch {
				t.Skip("needs inotify")
			}
			ran++
			if killDuringPut(t, tc.event, tc.write) > 0 {
				midWrite++
			}
		})
	}
	t.Logf("%d of %d kills landed inside a write (its temp file left behind)", midWrite, ran)
	if haveWatch && midWrite == 0 && !t.Failed() {
		t.Error("no kill landed inside a write: the test did not exercise what it claims")
	}
}

// killDuringPut runs one child, kills it at the event, checks the store and
// returns how many temp files the killed write left.
func killDuringPut(t *testing.T, event string, write int) (tempsLeft int) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "sessions")
	s, err := NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, crashKey, crashValue(0)) // the previous value of the child's first write
	watch, stopWatch := watchTemps(t, dir)
	defer stopWatch()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close() // the child holds the only write end: EOF once it dies
	reports := make(chan string)
	go func() {
		defer close(reports)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			reports <- sc.Text()
		}
	}()
	lastStarted, lastDone := 0, 0
	note := func(line string) {
		ev, n, _ := strings.Cut(line, " ")
		i, err := strconv.Atoi(n)
		switch {
		case ev == "start" && err == nil:
			lastStarted = i
		case ev == "done" && err == nil:
			lastDone = i
		default:
			t.Errorf("child: %s", line)
		}
	}

	trigger := fmt.Sprintf("%s %d", event, write)
wait:
	for {
		select {
		case line, ok := <-reports:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("child ended before %q:\n%s", trigger, out.String())
			}
			note(line)
			if line == trigger {
				break wait
			}
		case ev := <-watch:
			if strings.HasPrefix(ev, "error") {
				t.Errorf("inotify: %s", ev)
			}
			if ev == trigger {
				break wait
			}
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()              // "signal: killed"
	for line := range reports { // what the child reported before it died
		note(line)
	}
	if cmd.ProcessState.Success() {
		t.Fatalf("child was not killed:\n%s", out.String())
	}

	// Look at the directory as the next daemon start would.
	for _, name := range dirNames(t, dir) {
		if strings.HasPrefix(name, tempPrefix) {
			tempsLeft++
		}
	}
	s, err = NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, s, crashKey)
	got, err := s.Get(ctx, crashKey)
	if err != nil {
		t.Fatalf("Get after kill: %v", err)
	}
	i, ok := crashValueIndex(got)
	if !ok || !bytes.Equal(got, crashValue(i)) {
		t.Fatalf("after the kill the entry is %d bytes that are no complete value written (starts %q)", len(got), trim(got))
	}
	if i < lastDone || i > lastStarted {
		t.Fatalf("after the kill the entry is value %d; want one of %d (last acknowledged) .. %d (in flight)", i, lastDone, lastStarted)
	}
	t.Logf("killed at %q (child reached start %d, done %d): entry is value %d (%d MiB), %d temp file(s) left",
		trigger, lastStarted, lastDone, i, len(got)>>20, tempsLeft)
	return tempsLeft
}
