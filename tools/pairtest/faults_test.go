package pairtest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/metrics/metricstest"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// putFault sets the faults of backend b through its admin port, as a learner's curl does.
func putFault(t *testing.T, b *servicetest.Service, spec string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	res, body := servicetest.Send(t, c, http.MethodPut, b.AdminURL+"/faults", strings.NewReader(spec), nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s/faults %s = %d %s, want 200", b.AdminURL, spec, res.StatusCode, body)
	}
}

// spreadResult is the part of /api/spread's answer these tests read.
type spreadResult struct {
	Requested, Succeeded, Failed int
	ByPod                        map[string]int `json:"by_pod"`
}

// TestFaultsSeenByFrontend makes backend-1 fail or hang and checks what the frontend's
// callers see: nothing, since retries to the next address and the ejection of backend-1 hide
// it, while backend-1's own metrics and the frontend's ejections show that it happened.
func TestFaultsSeenByFrontend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, spec, kind string
	}{
		{"error 503", `{"error":503}`, "error"},
		{"hang", `{"hang":true}`, "hang"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dns := startDNS(t)
			backends := threeBackends(t, dns, "FAULTS=on")
			fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http",
				"CLIENT_ATTEMPT_TIMEOUT=200ms", "CLIENT_EJECT_FOR=1m", "CLIENT_EJECT_FOR_MAX=1m")
			putFault(t, backends[0], tt.spec)

			status, _, body := get(t, fe.URL+"/api/spread?n=30", "")
			if status != http.StatusOK {
				t.Fatalf("GET /api/spread?n=30 = %d %s, want 200", status, body)
			}
			spread := decode[spreadResult](t, body)
			if spread.Succeeded != 30 || spread.Failed != 0 || spread.ByPod["backend-1"] != 0 {
				t.Errorf("spread with backend-1 faulty (%s) = %+v, want 30 of 30 answered, none by backend-1", tt.spec, spread)
			}
			hit := metricstest.Scrape(t, backends[0].AdminURL+"/metrics").Value("backend_fault_injected_total", "kind", tt.kind)
			if hit < 1 {
				t.Errorf(`backend-1 backend_fault_injected_total{kind=%q} = %v, want at least 1: the frontend did call it`, tt.kind, hit)
			}
			if ej := metricstest.Scrape(t, fe.AdminURL+"/metrics").Value("http_client_ejections_total"); ej != 1 {
				t.Errorf("frontend http_client_ejections_total = %v, want 1 (backend-1)", ej)
			}
		})
	}
}

// TestFaultsAllHang hangs every backend: the frontend answers 504 within its own deadline
// rather than hang with them, saying what it tried.
func TestFaultsAllHang(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	backends := threeBackends(t, dns, "FAULTS=on", "WRITE_TIMEOUT=1m")
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http",
		"CLIENT_TIMEOUT=600ms", "CLIENT_ATTEMPT_TIMEOUT=200ms")
	for _, b := range backends {
		putFault(t, b, `{"hang":true}`)
	}
	status, _, body := get(t, fe.URL+"/", "application/json")
	if status != http.StatusGatewayTimeout {
		t.Fatalf("GET / with every backend hanging = %d %s, want 504", status, body)
	}
	if f := decode[failureBody](t, body); f.Tried.Attempts < 2 || len(f.Tried.Addrs) != 3 {
		t.Errorf("GET / tried = %+v, want retries over the 3 addresses", f.Tried)
	}
}
