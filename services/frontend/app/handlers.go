package app

import (
	"log/slog"
	"net/http"
)

// handleCall is GET /: one call to the backend, shown as text, JSON or HTML.
func handleCall(backend *backendCaller, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view, err := backend.call(r.Context(), false)
		if err != nil {
			f := failure(err, view)
			annotate(r.Context(), f.Tried.Source, "", "", f.Tried.Attempts)
			logger.WarnContext(r.Context(), "backend call failed", "error", err, "status", f.Status)
			writeFailure(w, r, f)
			return
		}
		annotate(r.Context(), view.Discovery.Source, view.Discovery.Addr, view.Backend.Pod, view.Attempts)
		writeCall(w, r, view)
	})
}
