package main

import "testing"

const wrkOutput = `Running 10s test @ http://127.0.0.1:40000/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.91ms    3.02ms  42.11ms   72.35%
    Req/Sec     5.45k   401.22     6.31k    70.00%
  Latency Distribution
     50%    5.52ms
     75%    7.41ms
     90%    9.63ms
     99%   16.62ms
  108543 requests in 10.00s, 53.11MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  10852.61
Transfer/sec:      5.31MB
`

func TestParseWrk(t *testing.T) {
	t.Parallel()
	got, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatalf("parseWrk: %v", err)
	}
	want := result{rps: 10852.61, p99ms: 16.62, requests: 108543, errors: 7}
	if got != want {
		t.Errorf("parseWrk = %+v, want %+v", got, want)
	}
	if _, err := parseWrk("connection refused\n"); err == nil {
		t.Error("parseWrk of no report = nil error, want one")
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"812.00us": 0.812, "1.25ms": 1.25, "2.00s": 2000, "1.50m": 90000} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	if _, err := parseDuration("5h"); err == nil {
		t.Error(`parseDuration("5h") = nil error, want one`)
	}
}
