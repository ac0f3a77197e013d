package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/credd/credd/internal/credproctest"
)

// buildDir holds the programs the tests build once per test binary (credd,
// peerclient). TestMain makes it before the tests and removes it after.
var buildDir string

// TestMain builds the credential_process helper the tests use, and
// removes what the tests built.
func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "credd-e2e-build-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Other users run peerclient from here (setpriv): they must enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	buildDir = dir
	return credproctest.Main(m)
}
