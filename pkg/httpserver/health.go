package httpserver

import "net/http"

const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
	metricsPath = "/metrics"
)

// isProbe tells the endpoints scraped every few seconds, which get no span and log at debug
// level only, so they do not drown real traffic.
func isProbe(path string) bool {
	return path == healthzPath || path == readyzPath || path == metricsPath
}

// healthz is the liveness probe: it checks the process only (it answers, so it is alive),
// never a dependency, or an outage of the backend would make Kubernetes restart every
// frontend.
func healthz(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is the readiness probe: 503 from the moment shutdown starts, so the pod leaves the
// Service's endpoints while it still serves, and whenever Deps.Ready says so.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	if s.ready != nil && !s.ready() {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
