package pairtest_test

import (
	"net/http"
	"runtime"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// TestNoGoroutineLeaks runs frontends against a healthy, a refusing and a silent backend,
// stops everything, and checks that the process has no more goroutines than before: a hung
// backend must cost the frontend its deadline and nothing that outlives it. It is not parallel:
// it compares the process's goroutine count, which tests running at the same time would
// change; parallel tests only start once it is done.
func TestNoGoroutineLeaks(t *testing.T) {
	base := runtime.NumGoroutine()
	scenarios := []struct {
		name    string
		environ func(t *testing.T) []string
		healthy bool // 200; otherwise 502, 503 or 504, whichever the failure maps to
	}{
		{"healthy backend through DNS", func(t *testing.T) []string {
			dns := startDNS(t)
			threeBackends(t, dns)
			return []string{"DISCOVERY_DNS_SERVER=" + dns.Addr(), "DISCOVERY_PORT_NAME=http"}
		}, true},
		{"refusing backend", func(t *testing.T) []string {
			return []string{"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + closedPort(t)}
		}, false},
		{"backend that never answers", func(t *testing.T) []string {
			return []string{"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + silentListener(t),
				"CLIENT_TIMEOUT=400ms", "CLIENT_ATTEMPT_TIMEOUT=150ms"}
		}, false},
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				fe := startFrontend(t, sc.environ(t)...)
				for range 3 {
					status, _, body := get(t, fe.URL+"/", "application/json")
					if ok := status == http.StatusOK; ok != sc.healthy || (!ok && status < http.StatusBadGateway) {
						t.Errorf("GET / = %d %s, want 200: %t (else 502, 503 or 504)", status, body, sc.healthy)
					}
				}
			})
		}
	})
	// The test's own client keeps idle connections to the stopped frontends.
	http.DefaultClient.CloseIdleConnections()
	servicetest.WaitGoroutines(t, base)
}
