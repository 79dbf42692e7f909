package app

import (
	"log/slog"
	"net/http"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// handleCall is GET /: one call to the backend, shown as text, JSON or HTML with what the
// caller's proxy said about it. Malformed forwarded headers are a 400 before any backend call.
func handleCall(backend *backendCaller, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, err := clientFrom(r)
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		view, err := backend.call(r.Context(), false)
		if err != nil {
			f := failure(err, view)
			annotate(r.Context(), f.Tried.Source, "", "", f.Tried.Attempts)
			logger.WarnContext(r.Context(), "backend call failed", "error", err, "status", f.Status)
			writeFailure(w, r, f)
			return
		}
		annotate(r.Context(), view.Discovery.Source, view.Discovery.Addr, view.Backend.Pod, view.Attempts)
		view.Client = &client
		writeCall(w, r, view)
	})
}
