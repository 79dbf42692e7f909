package app

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes lists every route of the frontend; /healthz and /readyz come from httpserver.
// httpserver also answers HEAD for each GET route.
func routes(backend *backendCaller, spread spreadLimits, logger *slog.Logger) func(chi.Router) {
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/", handleCall(backend, logger))
		r.Method(http.MethodGet, "/style.css", handleStyle())
		r.Method(http.MethodGet, "/api/spread", handleSpread(backend, spread, logger))
		r.Method(http.MethodGet, "/api/live", handleLive(backend, spread, logger))
		r.Method(http.MethodGet, "/live.js", handleStatic("text/javascript; charset=utf-8", liveJS))
		r.Method(http.MethodGet, "/live.css", handleStatic("text/css; charset=utf-8", liveCSS))
		r.Method(http.MethodGet, "/api/pod/{name}", handlePod(backend.pods, logger))
	}
}
