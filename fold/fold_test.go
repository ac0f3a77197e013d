package fold

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestFoldBoundsItsKeys(t *testing.T) {
	f := New[int](time.Minute, 3)
	writes := 0
	for i := range 100 {
		if w, _ := f.Add(strings.Repeat("k", i), t0, i); w {
			writes++
		}
	}
	if f.Len() > 4 || writes != 4 {
		t.Fatalf("%d keys, %d lines; want at most 3 keys and the overflow, 4 lines", f.Len(), writes)
	}
	due := f.Due(t0.Add(time.Minute), false)
	if len(due) != 1 || due[0].Key != OverflowKey || due[0].Count != 96 || due[0].Event != 99 {
		t.Fatalf("due = %+v, want the overflow key with 96 events, the latest 99", due)
	}
}

func TestFoldCountsWithoutFlush(t *testing.T) {
	f := New[string](time.Minute, 10)
	for i, tc := range []struct {
		at        time.Duration
		write     bool
		wantCount int
	}{
		{0, true, 1},
		{10 * time.Second, false, 0},
		{20 * time.Second, false, 0},
		{61 * time.Second, true, 3}, // itself and the two folded
		{62 * time.Second, false, 0},
	} {
		w, n := f.Add("k", t0.Add(tc.at), "e")
		if w != tc.write || n != tc.wantCount {
			t.Errorf("event %d at %v: write %v count %d, want %v %d", i, tc.at, w, n, tc.write, tc.wantCount)
		}
	}
}
