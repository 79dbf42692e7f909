package app

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

// routes lists every route of the backend; /healthz and /readyz come from httpserver.
func routes(id Identity, now func() time.Time) func(chi.Router) {
	return func(r chi.Router) {
		r.Method(http.MethodGet, "/", handleIdentity(id, now))
		// The same answer under the path an Ingress routes straight here (k8s/ingress): the
		// Ingress API has no portable rewrite, so the backend sees /backend, not /.
		r.Method(http.MethodGet, "/backend", handleIdentity(id, now))
	}
}
