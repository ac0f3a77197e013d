//go:build unix

package private

import (
	"os"
	"path/filepath"
	"testing"
)

func TestForeign(t *testing.T) {
	mine := filepath.Join(t.TempDir(), "mine")
	if err := os.WriteFile(mine, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(mine)
	if err != nil {
		t.Fatal(err)
	}
	if owner, foreign := Foreign(fi); foreign {
		t.Errorf("a file this test made is foreign (owner %q)", owner)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	for _, tc := range []struct {
		uid  int
		want string
	}{
		{65534, "65534 (nobody)"},
		{54321, "54321"}, // no such account
	} {
		if err := os.Chown(mine, tc.uid, tc.uid); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(mine)
		if err != nil {
			t.Fatal(err)
		}
		if owner, foreign := Foreign(fi); !foreign || owner != tc.want {
			t.Errorf("uid %d: Foreign = %q, %v; want %q, true", tc.uid, owner, foreign, tc.want)
		}
	}
}
