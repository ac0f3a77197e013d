package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/internal/ststest"
)

// secretMark in a fuzzed or test process output is replaced by a secret
// key that must never reach an error message.
const secretMark = "@SECRET@"

// processSecret looks like a secret access key: base64-ish, with / and +.
const processSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"

// processOutput is a profile whose credential_process prints what
// write(out) last wrote.
type processOutput struct {
	profile *AWSProfile
	file    string
}

func newProcessOutput(t testing.TB) *processOutput {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[profile proc]\ncredential_process = "+printFile(out)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &processOutput{
		profile: &AWSProfile{Name: "proc", ConfigFiles: []string{cfg}, CredentialFiles: []string{filepath.Join(dir, "none")}},
		file:    out,
	}
}

// printFile is a credential_process command that prints the file path,
// run as the SDK runs it: by sh -c (cat), or on Windows by cmd.exe /C
// (type). The path is not quoted: Go passes the line to cmd.exe as one
// argument, its quotes escaped as \", which cmd.exe does not read; a
// test's temporary path has no spaces.
func printFile(path string) string {
	if runtime.GOOS == "windows" {
		return "type " + path
	}
	return "cat " + path
}

func (p *processOutput) write(t testing.TB, out string) {
	t.Helper()
	if err := os.WriteFile(p.file, []byte(strings.ReplaceAll(out, secretMark, processSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// leaks reports whether msg carries the secret, or any 12 characters of
// it.
func leaks(msg string) bool {
	for i := 0; i+12 <= len(processSecret); i++ {
		if strings.Contains(msg, processSecret[i:i+12]) {
			return true
		}
	}
	return false
}

// TestProcessOutputIsNeverRepeated: the AWS SDK quotes a
// credential_process's whole output when it does not parse, and that
// output is the secret key more often than not. credd's error says what is
// wrong with the output, never what it was.
func TestProcessOutputIsNeverRepeated(t *testing.T) {
	p := newProcessOutput(t)
	doc := `{"Version":1,"AccessKeyId":"ASIAPROC","SecretAccessKey":"@SECRET@","SessionToken":"tok","Expiration":"2099-01-01T00:00:00Z"}`
	for _, tc := range []struct {
		name, out, want string
	}{
		{"a warning after the JSON", doc + "\nwarning: cache is stale\n", "invalid at byte"},
		{"a warning before the JSON", "Using cached credentials\n" + doc, "invalid at byte"},
		{"cut short", doc[:70], "invalid at byte"},
		{"a field of the wrong kind", `{"Version":"1","SecretAccessKey":"@SECRET@"}`, "Version must be a JSON number"},
		{"an array", `["@SECRET@"]`, "the output must be a JSON object"},
		{"a bad expiration", `{"Version":1,"AccessKeyId":"A","SecretAccessKey":"@SECRET@","Expiration":"tomorrow @SECRET@"}`, "Expiration is not an RFC 3339 time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.write(t, tc.out)
			_, err := p.profile.Retrieve(t.Context())
			if err == nil {
				t.Fatal("Retrieve succeeded")
			}
			if leaks(err.Error()) {
				t.Errorf("the error repeats the secret key: %v", err)
			}
			if !errors.Is(err, ErrProcessOutput) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"proc"`) {
				t.Errorf("error %q: want ErrProcessOutput, the profile and %q", err, tc.want)
			}
		})
	}
	// For contrast: a good document is read, and other failures keep
	// the SDK's words.
	p.write(t, doc)
	if c, err := p.profile.Retrieve(t.Context()); err != nil || c.SecretAccessKey != processSecret {
		t.Fatalf("a good document: %v, %v", c, err)
	}
	p.write(t, `{"Version":2,"AccessKeyId":"A","SecretAccessKey":"@SECRET@"}`)
	if _, err := p.profile.Retrieve(t.Context()); err == nil || errors.Is(err, ErrProcessOutput) || !strings.Contains(err.Error(), "wrong version") {
		t.Errorf("version 2: %v, want the SDK's wrong version error", err)
	}
}

// FuzzCredentialProcess runs a real credential_process (`cat` of the
// fuzzed output) through the AWS SDK's provider, as credd runs every
// aws_profile source, and checks: no panic; no error carries the secret
// key (placed with @SECRET@), whatever surrounds it; credentials come back
// only with an access key and a secret key.
//
// Seeds: testdata/fuzz/FuzzCredentialProcess.
func FuzzCredentialProcess(f *testing.F) {
	p := newProcessOutput(f)
	f.Fuzz(func(t *testing.T, out string) {
		p.write(t, out)
		c, err := p.profile.Retrieve(t.Context())
		if err != nil {
			if leaks(err.Error()) {
				t.Fatalf("the error repeats the secret key: %v", err)
			}
			return
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			t.Fatalf("credentials without a key: %q / %d bytes of secret", c.AccessKeyID, len(c.SecretAccessKey))
		}
	})
}

// hungHelper writes a credential_process script that never answers, in
// the given way, and returns the profile section's line and the file
// where the script writes the PID of the process that holds its stdout.
func hungHelper(t *testing.T, body string) (line, pidFile string) {
	t.Helper()
	dir := t.TempDir()
	pidFile = filepath.Join(dir, "pid")
	script := filepath.Join(dir, "hung.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+strings.ReplaceAll(body, "PIDFILE", pidFile)+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, pidFile
}

// gone reports whether the process whose PID is in pidFile has ended (a
// zombie left for init to reap counts). A killed process closes its files
// before it becomes a zombie, so this waits a little for the kernel to
// finish what the kill started.
func gone(t *testing.T, pidFile string) bool {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the helper did not write its PID: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat")
		if err != nil {
			return true
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X") {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// retrieveHung has p's hung helper time out, once: Retrieve must return
// then, and the process that held the helper's stdout (its PID in
// pidFile) must be gone. The fetch timeout is real time: on a loaded
// machine it can pass before the helper has started its child (and
// written its PID), which leaves nothing to check; then it tries again
// with a longer one.
func retrieveHung(t *testing.T, attempt int, p *AWSProfile, pidFile string) {
	t.Helper()
	for _, timeout := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 10 * time.Second} {
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		p.FetchTimeout = timeout
		done := make(chan error, 1)
		go func() {
			_, err := p.Retrieve(context.Background())
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("attempt %d: Retrieve still waits a minute after the %s deadline: the helper's group was not killed", attempt, timeout)
		}
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("attempt %d: Retrieve = %v, want the credential process timed out", attempt, err)
		}
		if b, err := os.ReadFile(pidFile); err != nil || !strings.HasSuffix(string(b), "\n") {
			t.Logf("attempt %d: the helper had not started its child by the %s timeout (%v): trying a longer one", attempt, timeout, err)
			continue
		}
		if !gone(t, pidFile) {
			t.Errorf("attempt %d: the process that held the helper's stdout still runs", attempt)
		}
		return
	}
	t.Fatalf("attempt %d: the helper never started its child before the timeout", attempt)
}

// TestHungCredentialProcessIsKilledWithItsGroup: a credential_process
// that never answers is killed at the fetch timeout together with
// everything it started, so Retrieve returns then, and so does the next
// attempt. The SDK's own runner killed only the shell: a helper's child
// kept the pipe open and Retrieve waited for it (240 s here, forever for
// a helper that never exits).
func TestHungCredentialProcessIsKilledWithItsGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX shell helpers; proc_windows_test.go covers job objects")
	}
	sts := ststest.New(t)
	for _, tc := range []struct {
		name, body string
		chain      bool // the helper signs the first hop of a role chain
	}{
		{"a child holds the pipe", "sleep 240 &\necho $! > PIDFILE\nwait", false},
		{"the helper execs sleep", "echo $$ > PIDFILE\nexec sleep 240", false},
		{"a grandchild holds the pipe", "sh -c 'sleep 240 & echo $! > PIDFILE; wait' &\nwait", false},
		{"at the root of a role chain", "sleep 240 &\necho $! > PIDFILE\nwait", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, pidFile := hungHelper(t, tc.body)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config")
			sections := "[profile hung]\ncredential_process = " + line + "\n"
			name := "hung"
			if tc.chain {
				sections += "[profile ops]\nsource_profile = hung\nrole_arn = arn:aws:iam::111122223333:role/ops\nregion = us-east-1\nendpoint_url = " + sts.URL + "\n"
				name = "ops"
			}
			if err := os.WriteFile(cfg, []byte(sections), 0o600); err != nil {
				t.Fatal(err)
			}
			for attempt := 1; attempt <= 2; attempt++ {
				retrieveHung(t, attempt, &AWSProfile{Name: name, ConfigFiles: []string{cfg}, CredentialFiles: []string{filepath.Join(dir, "none")}}, pidFile)
			}
			if n := len(sts.Calls()); n != 0 {
				t.Errorf("%d STS calls without credentials to sign them", n)
			}
		})
	}
}
