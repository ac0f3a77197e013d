package credproctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// The SDK's own credential_process provider (sh -c, or cmd.exe /C on
// Windows) runs the helper and accepts its answer.
func TestHelperJudgedBySDK(t *testing.T) {
	dir := t.TempDir()
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	spec := Spec{
		StartedFile: filepath.Join(dir, "started"),
		CountFile:   filepath.Join(dir, "count"),
		Output:      Document("ASIAHELPER", "helper-secret", "helper-token", exp),
	}
	cmd := Command(t, spec)
	for run := 1; run <= 2; run++ {
		got, err := processcreds.NewProvider(cmd).Retrieve(t.Context())
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got.AccessKeyID != "ASIAHELPER" || got.SecretAccessKey != "helper-secret" || got.SessionToken != "helper-token" || !got.Expires.Equal(exp) {
			t.Fatalf("run %d: credentials = %+v", run, got)
		}
		b, err := os.ReadFile(spec.CountFile)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "x"); n != run {
			t.Errorf("count file says %d runs after %d", n, run)
		}
	}
	if _, err := os.Stat(spec.StartedFile); err != nil {
		t.Errorf("started file: %v", err)
	}
}

func TestHelperSleeps(t *testing.T) {
	cmd := Command(t, Spec{Sleep: 300 * time.Millisecond, Output: Document("ASIASLOW", "s", "t", time.Now().Add(time.Hour))})
	begin := time.Now()
	if _, err := processcreds.NewProvider(cmd).Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Errorf("answered after %v, before its 300ms sleep", took)
	}
}
