package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTPServer records inbound requests by route pattern, method and status: the RED metrics
// of a service; and its connections against their cap. It implements httpserver.Observer,
// httpserver.ConnObserver and httpserver.TLSObserver; pass it as httpserver.Deps.Observer,
// .ConnObserver and .TLSObserver.
type HTTPServer struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	connsOpen  prometheus.Gauge
	connLimit  prometheus.Gauge
	connsShed  *prometheus.CounterVec
	refused    *prometheus.CounterVec
	handshakes prometheus.Counter
}

// serverLabels are the labels of both server metrics. route is the router's pattern
// (/items/{id}), never the raw path, so one series per route rather than per URL.
var serverLabels = []string{"route", "method", "status"}

// NewHTTPServer registers http_server_requests_total, http_server_request_duration_seconds,
// http_server_connections_open, http_server_connections_limit,
// http_server_connections_shed_total, http_server_tls_handshakes_total and
// http_server_tls_refused_total with reg. It panics if they are registered already: one
// service has one HTTP server.
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
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_connections_open",
			Help: "Connections open on the public port, at most http_server_connections_limit.",
		}),
		connLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_connections_limit",
			Help: "The cap on connections open on the public port (MAX_CONNS).",
		}),
		connsShed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_connections_shed_total",
			Help: "Connections the server closed to stay within its cap, by reason: idle (keep-alive), new (no whole request header yet) or refused (every connection busy).",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_tls_refused_total",
			Help: "Clients refused under mutual TLS (TLS_CLIENT_AUTH=require), by reason: no_certificate, untrusted or expired (the handshake failed) or identity_not_allowed (403).",
		}, []string{"reason"}),
		handshakes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "http_server_tls_handshakes_total",
			Help: "TLS handshakes begun on the public port (TLS_DIR), full or resumed, refused ones included. A handshake costs far more CPU than a request; with keep-alive there is one per connection, not per request, so divided by http_server_requests_total it is the handshakes per request, near 0 when clients reuse their connections.",
		}),
	}
	reg.MustRegister(s.requests, s.duration, s.connsOpen, s.connLimit, s.connsShed, s.handshakes, s.refused)
	return s
}

// ConnLimit records the cap on connections.
func (s *HTTPServer) ConnLimit(n int) { s.connLimit.Set(float64(n)) }

// ConnOpened counts an accepted connection as open.
func (s *HTTPServer) ConnOpened() { s.connsOpen.Inc() }

// ConnClosed counts a connection as no longer open.
func (s *HTTPServer) ConnClosed() { s.connsOpen.Dec() }

// ConnShed counts a connection closed at the cap, by reason (httpserver.ShedIdle and so on).
func (s *HTTPServer) ConnShed(reason string) { s.connsShed.WithLabelValues(reason).Inc() }

// TLSHandshake counts a TLS handshake begun.
func (s *HTTPServer) TLSHandshake() { s.handshakes.Inc() }

// TLSRefused counts a client refused under mutual TLS, by reason (httpserver.RefusedIdentity
// and so on).
func (s *HTTPServer) TLSRefused(reason string) { s.refused.WithLabelValues(reason).Inc() }

// ObserveRequest counts one request and records its duration. route is "" for a request no
// route matched (a 404), which keeps unknown paths from creating series.
func (s *HTTPServer) ObserveRequest(route, method string, status int, d time.Duration) {
	code := statusLabel(status)
	s.requests.WithLabelValues(route, method, code).Inc()
	s.duration.WithLabelValues(route, method, code).Observe(d.Seconds())
}

// statusLabels are the label values of the status codes 100 to 599, made once rather than by
// strconv.Itoa on every request.
var statusLabels = func() (labels [600]string) {
	for code := 100; code < len(labels); code++ {
		labels[code] = strconv.Itoa(code)
	}
	return labels
}()

func statusLabel(status int) string {
	if status >= 100 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}
