package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteWaitsForAReaderToClose: Windows refuses to rename over a file
// that a reader holds open (os.Open, like the AWS CLI, shares no delete
// access). Write tries again while the reader may still close it, and
// gives up, the old content kept and no temporary file left, when the
// reader does not.
func TestWriteWaitsForAReaderToClose(t *testing.T) {
	for _, tc := range []struct {
		name       string
		closesFile bool // the reader closes the file at the first refusal
		want       string
	}{
		{"the reader closes the file", true, "new"},
		{"the reader keeps it open", false, "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cache.json")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			reader, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			refusals := 0
			w := Writer{RetryRename: func(err error) bool {
				refusals++
				if tc.closesFile {
					reader.Close()
				}
				return refusals < 3
			}}
			err = w.Write(path, []byte("new"), 0o600)
			reader.Close()
			if refusals == 0 {
				t.Fatalf("the rename over an open file was never refused (Write: %v): the test proves nothing here", err)
			}
			if (err == nil) != tc.closesFile {
				t.Errorf("Write = %v after %d refusals", err, refusals)
			}
			if !tc.closesFile && refusals != 3 {
				t.Errorf("%d refusals, want 3 (tried until RetryRename said no)", refusals)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.want {
				t.Errorf("content %q, want %q", b, tc.want)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), TempPrefix) {
					t.Errorf("temporary file %s left", e.Name())
				}
			}
		})
	}
}
