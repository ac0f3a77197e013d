package control

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"
)

// benchStatus is a daemon's status with n profiles, every one fetched.
func benchStatus(n int, now time.Time) Status {
	st := Status{Version: "dev", PID: 4242, Started: now.Add(-time.Hour), Listen: "127.0.0.1:9955", DefaultProfile: "p00000",
		Store: StoreStatus{Kind: "file"}, Sessions: []SessionStatus{}}
	exp, last, next := now.Add(11*time.Hour), now.Add(-time.Hour), now.Add(10*time.Hour)
	for i := range n {
		st.Profiles = append(st.Profiles, ProfileStatus{Name: fmt.Sprintf("p%05d", i), Source: "aws_profile", State: "fresh",
			Expires: &exp, LastRefresh: &last, NextRefresh: &next})
	}
	return st
}

// BenchmarkStatus5000 is what `credd status` does with the daemon's answer
// at 5,000 profiles: decode the JSON and write the tables.
func BenchmarkStatus5000(b *testing.B) {
	now := time.Now()
	body, err := json.Marshal(benchStatus(5000, now))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var st Status
			if err := json.Unmarshal(body, &st); err != nil || len(st.Profiles) != 5000 {
				b.Fatalf("%d profiles, %v", len(st.Profiles), err)
			}
		}
	})
	st := benchStatus(5000, now)
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := bufio.NewWriterSize(io.Discard, 64<<10)
			st.WriteTable(w, now, false)
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
