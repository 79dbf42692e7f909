package httpserver

import (
	"net/http"
	"time"
)

// Observer is told about every request the server answers, except the probes and /metrics,
// so that metrics can count requests and time them by route. It is called once the handler
// has returned, from the request's goroutine, so it must be safe for concurrent use.
// pkg/metrics.HTTPServer implements it.
type Observer interface {
	// ObserveRequest reports a request that matched route (the router's pattern, such as
	// /items/{id}; "" when no route matched) with method (one of the standard methods, or
	// _OTHER) and was answered with status after d.
	ObserveRequest(route, method string, status int, d time.Duration)
}

// methodLabel returns the standard methods as they are and _OTHER for anything else, as the
// OpenTelemetry HTTP conventions do: a client inventing methods must not create series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}
