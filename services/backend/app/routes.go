package app

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/services/backend/internal/faults"
)

// routes lists every route of the backend's public port; /healthz and /readyz come from
// httpserver. identity answers GET /, wrapped in the faults when FAULTS=on.
func routes(identity http.Handler) func(chi.Router) {
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/", identity)
		// The same answer under the path an Ingress routes straight here (k8s/ingress): the
		// Ingress API has no portable rewrite, so the backend sees /backend, not /.
		r.Method(http.MethodGet, "/backend", identity)
	}
}

// adminRoutes lists the routes the backend adds to the admin port (next to /metrics) when
// FAULTS=on: the fault knobs, which no Service exposes.
func adminRoutes(in *faults.Injector) func(chi.Router) {
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/faults", in.HandleGet())
		r.Method(http.MethodPut, "/faults", in.HandlePut())
		r.Method(http.MethodDelete, "/faults", in.HandleDelete())
	}
}
