package app

import (
	"log/slog"
	"net/http"
)

// handleCall is GET /: one call to the backend, shown as text, JSON or HTML.
func handleCall(backend *backendCaller, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view, err := backend.call(r.Context())
		if err != nil {
			f := failure(err, view)
			logger.WarnContext(r.Context(), "backend call failed", "error", err, "status", f.Status)
			writeFailure(w, r, f)
			return
		}
		writeCall(w, r, view)
	})
}
