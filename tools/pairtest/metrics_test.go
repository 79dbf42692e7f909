package pairtest_test

import (
	"net/http"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/metrics/metricstest"
)

// TestMetricsAfterTraffic scrapes /metrics of the frontend and the backends after N calls and
// checks that each counter moved by exactly what the traffic explains.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	const n = 5
	dns := startDNS(t)
	backends := threeBackends(t, dns)
	// A long TTL makes the number of lookups exact: one, then the cache.
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", "DISCOVERY_TTL=1h")
	for range n {
		if status, _, body := get(t, fe.URL+"/", "application/json"); status != http.StatusOK {
			t.Fatalf("GET / = %d %s, want 200", status, body)
		}
	}
	get(t, fe.URL+"/healthz", "") // probes are not traffic: they must not count
	metricstest.Scrape(t, fe.AdminURL+"/metrics")
	snap := metricstest.Scrape(t, fe.AdminURL+"/metrics") // neither do scrapes

	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"http_server_requests_total", []string{"route", "/", "method", "GET", "status", "200"}, n},
		{"http_server_requests_total", nil, n},
		{"http_server_request_duration_seconds", []string{"route", "/", "method", "GET", "status", "200"}, n},
		{"http_client_calls_total", []string{"source", "dns", "result", "ok"}, n},
		{"http_client_calls_total", nil, n},
		{"http_client_call_duration_seconds", []string{"source", "dns", "result", "ok"}, n},
		{"http_client_attempts_total", []string{"source", "dns", "result", "ok"}, n},
		{"http_client_attempts_total", nil, n},
		{"discovery_lookups_total", []string{"service", "backend-service", "source", "dns", "result", "ok"}, 1},
		{"discovery_lookups_total", nil, 1},
		{"discovery_lookup_duration_seconds", []string{"source", "dns"}, 1},
	}
	for _, tt := range tests {
		if got := snap.Value(tt.name, tt.labels...); got != tt.want {
			t.Errorf("frontend %s%q = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_gc_duration_seconds", "process_resident_memory_bytes"} {
		if !snap.Has(name) {
			t.Errorf("frontend /metrics has no %s", name)
		}
	}

	var served float64
	for _, b := range backends {
		served += metricstest.Scrape(t, b.AdminURL+"/metrics").Value("http_server_requests_total", "route", "/", "method", "GET", "status", "200")
	}
	if served != n {
		t.Errorf("backends' http_server_requests_total{route=\"/\",status=\"200\"} add up to %v, want %d", served, n)
	}
}

// TestMetricsOfFailures checks that failed calls are counted with what went wrong.
func TestMetricsOfFailures(t *testing.T) {
	t.Parallel()
	dns := startDNS(t) // knows no name and there is no env: the backend is nowhere
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http")
	if status, _, body := get(t, fe.URL+"/", "application/json"); status != http.StatusServiceUnavailable {
		t.Fatalf("GET / = %d %s, want 503", status, body)
	}
	snap := metricstest.Scrape(t, fe.AdminURL+"/metrics")
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"http_server_requests_total", []string{"route", "/", "status", "503"}, 1},
		{"http_client_calls_total", []string{"source", "none", "result", "no_endpoint"}, 1},
		{"http_client_attempts_total", nil, 0},
		{"discovery_lookups_total", []string{"source", "dns", "result", "error"}, 1},
		{"discovery_lookups_total", []string{"source", "env", "result", "error"}, 1},
	}
	for _, tt := range tests {
		if got := snap.Value(tt.name, tt.labels...); got != tt.want {
			t.Errorf("frontend %s%q = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}
