package daemon

import (
	"os"
	"testing"

	"github.com/credd/credd/internal/credproctest"
)

// TestMain builds the credential_process helper the tests use.
func TestMain(m *testing.M) { os.Exit(credproctest.Main(m)) }
