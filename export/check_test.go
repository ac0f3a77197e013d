package export

import (
	"errors"
	"testing"

	"github.com/credd/credd/cred"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, format, write string
		ok                  bool
	}{
		{"every format", "powershell", "", true},
		{"ini into the credentials file", "ini", "dev-export", true},
		{"an unknown format", "yaml", "", false},
		{"writing needs ini", "env", "dev-export", false},
		{"a section the file cannot hold", "ini", "bad]name", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.format, tc.write)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, cred.ErrInvalid)) {
				t.Errorf("Check(%q, %q) = %v, want ok %v (else invalid)", tc.format, tc.write, err, tc.ok)
			}
		})
	}
}
