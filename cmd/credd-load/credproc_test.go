package main

import (
	"bytes"
	"testing"
	"time"
)

// TestStartCreddServesTheHelpersCredentials: the daemon credd-load starts
// resolves its profile through the credential_process helper
// writeCredentialProcess made (a shell script, or a batch file on
// Windows), and serves what it printed.
func TestStartCreddServesTheHelpersCredentials(t *testing.T) {
	addr, tok, stop, err := startCredd(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// The first answer waits on the helper's first run, which a loaded
	// machine (or wine starting cmd.exe) can make slower than the wait
	// credd allows a request: ask again until a minute has passed.
	deadline := time.Now().Add(time.Minute)
	_, body, err := fetchOnce(addr, tok)
	for err != nil && time.Now().Before(deadline) {
		t.Logf("not yet: %v", err)
		_, body, err = fetchOnce(addr, tok)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"SecretAccessKey":"ssssssssssssssssssssssssssssssssssssssss"`)) {
		t.Errorf("served %.120s", body)
	}
}
