package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTPServer records inbound requests by route pattern, method and status: the RED metrics
// of a service. It implements httpserver.Observer; pass it as httpserver.Deps.Observer.
type HTTPServer struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// serverLabels are the labels of both server metrics. route is the router's pattern
// (/items/{id}), never the raw path, so one series per route rather than per URL.
var serverLabels = []string{"route", "method", "status"}

// NewHTTPServer registers http_server_requests_total and http_server_request_duration_seconds
// with reg. It panics if they are registered already: one service has one HTTP server.
func NewHTTPServer(reg prometheus.Registerer) *HTTPServer {
	s := &HTTPServer{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_requests_total",
			Help: "Inbound HTTP requests by route pattern, method and status code (probes and /metrics excluded).",
		}, serverLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_server_request_duration_seconds",
			Help: "Time from the end of the request headers to the end of the handler, by route pattern, method and status code.",
			// The default buckets (5ms to 10s) are made for network services' responses.
			Buckets: prometheus.DefBuckets,
		}, serverLabels),
	}
	reg.MustRegister(s.requests, s.duration)
	return s
}

// ObserveRequest counts one request and records its duration. route is "" for a request no
// route matched (a 404), which keeps unknown paths from creating series.
func (s *HTTPServer) ObserveRequest(route, method string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	s.requests.WithLabelValues(route, method, code).Inc()
	s.duration.WithLabelValues(route, method, code).Observe(d.Seconds())
}
