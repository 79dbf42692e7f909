package metrics_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/endpointslices"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/metrics"
	"github.com/svc2svc/svc2svc/pkg/metrics/metricstest"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
)

// The types here are the observers of the packages that record traffic.
var (
	_ httpserver.Observer     = (*metrics.HTTPServer)(nil)
	_ httpserver.ConnObserver = (*metrics.HTTPServer)(nil)
	_ httpserver.TLSObserver  = (*metrics.HTTPServer)(nil)
	_ httpclient.Observer     = (*metrics.HTTPClient)(nil)
	_ discovery.Observer      = (*metrics.Discovery)(nil)
	_ endpointslices.Observer = (*metrics.EndpointSlices)(nil)
	_ tlsdir.Observer         = (*metrics.TLSFiles)(nil)
)

func TestHandler(t *testing.T) {
	t.Parallel()
	reg := metrics.NewRegistry()
	srv := metrics.NewHTTPServer(reg)
	client := metrics.NewHTTPClient(reg)
	disc := metrics.NewDiscovery(reg)
	watch := metrics.NewEndpointSlices(reg)

	for range 3 {
		srv.ObserveRequest("/items/{id}", http.MethodGet, 200, 2*time.Millisecond)
	}
	srv.ObserveRequest("", http.MethodGet, 404, time.Millisecond)
	srv.ConnLimit(100)
	for range 3 {
		srv.ConnOpened()
	}
	srv.ConnClosed()
	srv.ConnShed(httpserver.ShedIdle)
	srv.ConnShed(httpserver.ShedIdle)
	srv.ConnShed(httpserver.ShedNew)
	for range 2 {
		srv.TLSHandshake()
	}
	srv.TLSRefused(httpserver.RefusedUntrusted)
	client.ObserveAttempt(discovery.SourceDNS, "5xx")
	client.ObserveAttempt(discovery.SourceDNS, "ok")
	client.ObserveCall(discovery.SourceDNS, "ok", 30*time.Millisecond)
	client.ObserveCall("", "no_endpoint", time.Millisecond)
	client.ObserveEjection(discovery.SourceDNS)
	disc.ObserveLookup("backend-service", discovery.SourceDNS, time.Millisecond, errors.New("servfail"))
	disc.ObserveLookup("backend-service", discovery.SourceEnv, time.Microsecond, nil)
	watch.ObserveFailure("backend-service")
	watch.ObserveReady("backend-service", 3)
	watch.ObserveReady("backend-service", 4)

	ts := httptest.NewServer(metrics.Handler(reg))
	t.Cleanup(ts.Close)
	snap := metricstest.Scrape(t, ts.URL)

	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"http_server_requests_total", []string{"route", "/items/{id}", "method", "GET", "status", "200"}, 3},
		{"http_server_requests_total", []string{"route", "", "status", "404"}, 1},
		{"http_server_request_duration_seconds", []string{"route", "/items/{id}"}, 3},
		{"http_server_connections_limit", nil, 100},
		{"http_server_connections_open", nil, 2},
		{"http_server_connections_shed_total", []string{"reason", "idle"}, 2},
		{"http_server_connections_shed_total", []string{"reason", "new"}, 1},
		{"http_server_tls_handshakes_total", nil, 2},
		{"http_server_tls_refused_total", []string{"reason", "untrusted"}, 1},
		{"http_client_calls_total", []string{"source", "dns", "result", "ok"}, 1},
		{"http_client_calls_total", []string{"source", "none", "result", "no_endpoint"}, 1},
		{"http_client_call_duration_seconds", nil, 2},
		{"http_client_attempts_total", []string{"source", "dns"}, 2},
		{"http_client_attempts_total", []string{"result", "5xx"}, 1},
		{"http_client_ejections_total", []string{"source", "dns"}, 1},
		{"discovery_lookups_total", []string{"service", "backend-service", "source", "dns", "result", "error"}, 1},
		{"discovery_lookups_total", []string{"source", "env", "result", "ok"}, 1},
		{"discovery_lookup_duration_seconds", []string{"service", "backend-service"}, 2},
		{"discovery_endpointslices_ready_endpoints", []string{"service", "backend-service"}, 4},
		{"discovery_endpointslices_failures_total", []string{"service", "backend-service"}, 1},
	}
	for _, tt := range tests {
		if got := snap.Value(tt.name, tt.labels...); got != tt.want {
			t.Errorf("Value(%q, %q) = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "promhttp_metric_handler_requests_total"} {
		if !snap.Has(name) {
			t.Errorf("scrape has no %s", name)
		}
	}
}

// TestRegistriesAreIndependent checks there is no global state: two services in one process
// (as in the tests and the local run) register the same metrics without a conflict, and
// count apart.
func TestRegistriesAreIndependent(t *testing.T) {
	t.Parallel()
	var urls []string
	for i := range 2 {
		reg := metrics.NewRegistry()
		srv := metrics.NewHTTPServer(reg)
		metrics.NewHTTPClient(reg)
		metrics.NewDiscovery(reg)
		for range i + 1 {
			srv.ObserveRequest("/", http.MethodGet, 200, time.Millisecond)
		}
		ts := httptest.NewServer(metrics.Handler(reg))
		t.Cleanup(ts.Close)
		urls = append(urls, ts.URL)
	}
	for i, url := range urls {
		if got := metricstest.Scrape(t, url).Value("http_server_requests_total", "route", "/"); got != float64(i+1) {
			t.Errorf("registry %d http_server_requests_total = %v, want %d", i, got, i+1)
		}
	}
}
