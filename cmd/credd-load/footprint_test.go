package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []int
		bad  bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "list", in: "0,20, 1000,5_000", want: []int{0, 20, 1000, 5000}},
		{name: "trailing comma", in: "20,", want: []int{20}},
		{name: "negative", in: "-1", bad: true},
		{name: "word", in: "many", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCounts(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseCounts(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("parseCounts(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{name: "none", in: nil, want: 0},
		{name: "odd", in: []time.Duration{5, 1, 3}, want: 3},
		{name: "even", in: []time.Duration{4, 1, 2, 3}, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Fatalf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestScrape(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		body                    string
		heap, stack, goroutines int64
		err                     string
	}{
		{
			name: "all",
			body: "# HELP go_goroutines x\ngo_goroutines 17\ngo_memstats_heap_inuse_bytes 2.891776e+06\ngo_memstats_heap_inuse_bytes_total 1\ngo_memstats_stack_inuse_bytes 655360\n",
			heap: 2891776, stack: 655360, goroutines: 17,
		},
		{name: "missing", body: "go_goroutines 3\ngo_memstats_stack_inuse_bytes 1\n", err: "go_memstats_heap_inuse_bytes"},
		{name: "not a number", body: "go_goroutines x\ngo_memstats_heap_inuse_bytes 1\ngo_memstats_stack_inuse_bytes 1\n", err: "go_goroutines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(tc.body)) }))
			defer srv.Close()
			heap, stack, g, err := scrape(strings.TrimPrefix(srv.URL, "http://"))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("scrape: %v, want an error naming %s", err, tc.err)
				}
				return
			}
			if err != nil || heap != tc.heap || stack != tc.stack || g != tc.goroutines {
				t.Fatalf("scrape = %d, %d, %d, %v; want %d, %d, %d", heap, stack, g, err, tc.heap, tc.stack, tc.goroutines)
			}
		})
	}
}
