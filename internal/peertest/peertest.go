// Package peertest finds the real peers that tests use as judges (the AWS
// CLI, boto3, systemd-analyze, ...). A missing peer skips the test, or
// fails it when CREDD_REQUIRE_PEERS=1 (CI), so that CI cannot pass by
// skipping.
package peertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeout bounds a peer subprocess: it only stops a hung peer, so it
// leaves room for a loaded machine. The AWS CLI takes about 1.2 s of CPU
// to start; with the packages' tests running side by side on two cores
// (go test -race ./...) some of them spawning it in parallel, one was
// once killed at 30 s (export's TestDebianAWSCLI).
const Timeout = 2 * time.Minute

// DebianAWSCLI is where Debian's awscli package (AWS CLI v2.9) installs.
const DebianAWSCLI = "/usr/bin/aws"

// Require skips (or fails, under CREDD_REQUIRE_PEERS=1) when err says a
// peer is missing.
func Require(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CREDD_REQUIRE_PEERS") == "1" {
		t.Fatalf("%s is required (CREDD_REQUIRE_PEERS=1): %v", what, err)
	}
	t.Skipf("%s not available: %v", what, err)
}

// RequireDebianAWSCLI skips unless Debian's AWS CLI is installed (or
// fails, under CREDD_REQUIRE_PEERS=1). On any OS but Linux it skips
// whatever CREDD_REQUIRE_PEERS says: the program is Debian's, and a Linux
// executable at that path (wine maps / as a drive) does not run there.
func RequireDebianAWSCLI(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("Debian's AWS CLI (%s) is a Linux program: this test runs on Linux", DebianAWSCLI)
	}
	_, err := os.Stat(DebianAWSCLI)
	Require(t, "Debian's AWS CLI v2 at "+DebianAWSCLI+" (apt-get install awscli)", err)
}

// Tool finds a program on PATH; install says how to get it.
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Require(t, name+" ("+install+")", err)
	}
	return p
}

// Boto3Python is the interpreter behind the machine's python3, if it
// imports boto3. python3 may be a pyenv shim that reads HOME and the
// working directory, so tests run the interpreter itself.
var Boto3Python = sync.OnceValues(func() (string, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import sys, boto3; print(sys.executable)").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = errors.New(strings.TrimSpace(string(exit.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
})
