package main

import "testing"

func TestParseWrk(t *testing.T) {
	const report = `Running 2s test @ http://127.0.0.1:9991/v1/credentials/other
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.56ms   10.68ms 213.02ms   91.13%
    Req/Sec     6.55k     4.80k   18.93k    64.33%
  103040 requests in 8.02s, 106.13MB read
Requests/sec:  12848.22
Transfer/sec:     13.23MB
`
	for _, tc := range []struct {
		name     string
		in       string
		rps      float64
		requests int64
		bad      bool
	}{
		{name: "report", in: report, rps: 12848.22, requests: 103040},
		{name: "no rate", in: "  103040 requests in 8.02s, 106.13MB read\n", bad: true},
		{name: "no count", in: "Requests/sec:  12848.22\n", bad: true},
		{name: "nothing served", in: "  0 requests in 8.02s, 0B read\nRequests/sec:      0.00\n", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rps, n, err := parseWrk([]byte(tc.in))
			if tc.bad {
				if err == nil {
					t.Fatalf("parseWrk = %v, %d; want an error", rps, n)
				}
				return
			}
			if err != nil || rps != tc.rps || n != tc.requests {
				t.Fatalf("parseWrk = %v, %d, %v; want %v, %d", rps, n, err, tc.rps, tc.requests)
			}
		})
	}
}
