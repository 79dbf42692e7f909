package app_test

import (
	"net/http"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/metrics/metricstest"
)

// TestMetrics checks that the backend counts what it served, and only that, on /metrics.
func TestMetrics(t *testing.T) {
	t.Parallel()
	const n = 3
	b := startBackend(t, "POD_NAME=backend-metrics")
	for range n {
		getIdentity(t, b.URL+"/")
	}
	res, err := http.Get(b.URL + "/healthz") // probes are not traffic: they must not count
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	res.Body.Close()
	snap := metricstest.Scrape(t, b.AdminURL+"/metrics")
	if got := snap.Value("http_server_requests_total", "route", "/", "method", "GET", "status", "200"); got != n {
		t.Errorf(`http_server_requests_total{route="/",method="GET",status="200"} = %v, want %d`, got, n)
	}
	if got := snap.Value("http_server_requests_total"); got != n {
		t.Errorf("http_server_requests_total over all series = %v, want %d (probes and /metrics not counted)", got, n)
	}
	if got := snap.Value("http_server_request_duration_seconds", "route", "/"); got != n {
		t.Errorf(`http_server_request_duration_seconds{route="/"} count = %v, want %d`, got, n)
	}
	if !snap.Has("go_goroutines") || !snap.Has("process_cpu_seconds_total") {
		t.Errorf("/metrics lacks the Go runtime or process metrics")
	}
}
