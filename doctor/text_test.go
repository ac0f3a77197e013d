package doctor

import (
	"bytes"
	"errors"
	"testing"

	"github.com/credd/credd/control"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name       string
		findings   []Finding
		want       string
		wantErr    string
		notRunning bool
	}{
		{name: "all well", findings: []Finding{{OK: true, What: "a"}, {Warn: true, What: "b", Fix: "do b"}},
			want: "[ok  ] a\n[warn] b\n       fix: do b\n"},
		{name: "a failure", findings: []Finding{{OK: true, What: "a"}, {What: "c", Fix: "do c"}, {What: "d", NotRunning: true}},
			want: "[ok  ] a\n[FAIL] c\n       fix: do c\n[FAIL] d\n", wantErr: "2 check(s) failed"},
		{name: "first the daemon not running", findings: []Finding{{What: "d", NotRunning: true}, {What: "c"}},
			want: "[FAIL] d\n[FAIL] c\n", wantErr: "2 check(s) failed; credd is not running: start it with `credd serve` (or `credd service start`)", notRunning: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Write(&b, tc.findings)
			if b.String() != tc.want {
				t.Errorf("wrote\n%s\nwant\n%s", b.String(), tc.want)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) || errors.Is(err, control.ErrNotRunning) != tc.notRunning {
				t.Errorf("err %v, want %q (not running: %v)", err, tc.wantErr, tc.notRunning)
			}
		})
	}
}
