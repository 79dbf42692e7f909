package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

// routes lists every route of the frontend; /healthz and /readyz come from httpserver.
func routes(backend *backendCaller, spreadTimeout time.Duration, logger *slog.Logger) func(chi.Router) {
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/", handleCall(backend, logger))
		r.Method(http.MethodGet, "/api/spread", handleSpread(backend, spreadTimeout, logger))
	}
}
