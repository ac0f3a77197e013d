// Package credproctest makes credential_process helpers that run on every
// OS credd supports, where tests would otherwise write shell scripts that
// Windows cannot run. A helper is the small Go program ./credproc, built
// once per test binary by Main (or taken from $CREDD_CREDPROC_BIN, which
// scripts/test-windows builds once per run: the Windows test binaries run
// under wine, where no Go toolchain does), copied beside a spec of what it
// does when run.
package credproctest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// BinEnv names a prebuilt helper to use instead of building one.
const BinEnv = "CREDD_CREDPROC_BIN"

// Spec is what a helper does each time it runs, in this order.
type Spec struct {
	// StartedFile, if set, is created: the helper has started.
	StartedFile string `json:"started_file,omitempty"`
	// CountFile, if set, gets one line "x": tests count the runs.
	CountFile string `json:"count_file,omitempty"`
	// Sleep is how long it waits before answering.
	Sleep time.Duration `json:"sleep,omitempty"`
	// HangUnless, if set, names a file: while it does not exist, the
	// helper answers nothing. It starts a child of its own that holds its
	// standard output for four minutes, and waits for it, as a helper
	// whose child is stuck would; only killing both (its process group,
	// its job object on Windows) ends the run sooner. Once the file
	// exists, the helper answers at once.
	HangUnless string `json:"hang_unless,omitempty"`
	// Output is written to stdout as it is.
	Output string `json:"output"`
}

// Document is the credential_process answer for temporary credentials.
func Document(accessKeyID, secret, sessionToken string, expires time.Time) string {
	b, err := json.Marshal(struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}{1, accessKeyID, secret, sessionToken, expires.UTC().Format(time.RFC3339)})
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return string(b)
}

// Command makes a helper that does s, in a new directory of the test's,
// and returns the command line for credential_process (a path: no
// arguments, so no quoting differs between sh -c and cmd.exe /C).
func Command(t testing.TB, s Spec) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("credential_process helper: %v", err)
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "credproc")
	spec, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name+".json", spec, 0o600); err != nil {
		t.Fatal(err)
	}
	exe := name + exeSuffix()
	if err := copyFile(exe, bin); err != nil {
		t.Fatalf("credential_process helper: %v", err)
	}
	return exe
}

// Main runs the tests of a package that uses Command: it builds the
// helper first, unless $CREDD_CREDPROC_BIN names one, and removes it after.
// Call it from TestMain: os.Exit(credproctest.Main(m)).
func Main(m *testing.M) int {
	if os.Getenv(BinEnv) != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "credproc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "credproctest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "credproc"+exeSuffix())
	out, err := exec.Command("go", "build", "-o", bin, "github.com/credd/credd/internal/credproctest/credproc").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "credproctest: building the credential_process helper (or set $%s to a built one): %v\n%s", BinEnv, err, out)
		return 1
	}
	// The variable, not package state, hands the path to Command.
	os.Setenv(BinEnv, bin)
	return m.Run()
}

// binary is the helper Main built or was given.
func binary() (string, error) {
	p := os.Getenv(BinEnv)
	if p == "" {
		return "", fmt.Errorf("$%s is not set: run the tests through credproctest.Main", BinEnv)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("$%s: %w", BinEnv, err)
	}
	return p, nil
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
