package httpserver_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// TestReadyAndAdminRoutes checks the two hooks an operator's endpoint needs: Deps.Ready turns
// /readyz to 503 while the process stays alive, and Deps.AdminRoutes serves on the admin port
// only, never on the public one.
func TestReadyAndAdminRoutes(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	ready.Store(true)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("# metrics\n")) })
	srv := start(t, testConfig(t), httpserver.Deps{
		MetricsHandler: metrics,
		Ready:          ready.Load,
		AdminRoutes: func(r chi.Router) {
			r.Put("/knob", func(w http.ResponseWriter, _ *http.Request) {
				ready.Store(!ready.Load())
				httpserver.WriteJSON(w, http.StatusOK, map[string]bool{"ready": ready.Load()})
			})
		},
	}, testRoutes)
	admin := <-srv.admin

	steps := []struct {
		method, url string
		wantStatus  int
		wantBody    string
	}{
		{"GET", srv.url + "/readyz", 200, `{"status":"ready"}`},
		{"PUT", srv.url + "/knob", 404, `{"error":"not found","status":404}`},
		{"PUT", admin + "/knob", 200, `{"ready":false}`},
		{"GET", srv.url + "/readyz", 503, `{"status":"not ready"}`},
		{"GET", srv.url + "/healthz", 200, `{"status":"ok"}`},
		{"GET", admin + "/knob", 405, `{"error":"method not allowed","status":405}`},
		{"GET", admin + "/metrics", 200, "# metrics"},
		{"PUT", admin + "/knob", 200, `{"ready":true}`},
		{"GET", srv.url + "/readyz", 200, `{"status":"ready"}`},
	}
	for _, s := range steps {
		res, body := servicetest.Send(t, srv.client, s.method, s.url, nil, nil)
		if res.StatusCode != s.wantStatus || strings.TrimSpace(body) != s.wantBody {
			t.Errorf("%s %s = %d %s, want %d %s", s.method, s.url, res.StatusCode, body, s.wantStatus, s.wantBody)
		}
	}
}
