package private

import (
	"slices"
	"testing"
)

func TestOtherWriters(t *testing.T) {
	const me = "S-1-5-21-1-2-3-1001"
	for _, tc := range []struct {
		name    string
		writers []string
		want    []string
	}{
		{"the user alone", []string{me}, nil},
		{"the user, SYSTEM and Administrators", []string{"S-1-5-18", me, "S-1-5-32-544"}, nil},
		{"Everyone", []string{me, "S-1-1-0"}, []string{"S-1-1-0"}},
		{"Authenticated Users and another user, each once", []string{"S-1-5-11", me, "S-1-5-21-1-2-3-1002", "S-1-5-11"}, []string{"S-1-5-11", "S-1-5-21-1-2-3-1002"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Access{Writers: tc.writers}).OtherWriters(me); !slices.Equal(got, tc.want) {
				t.Errorf("OtherWriters = %q, want %q", got, tc.want)
			}
		})
	}
}
