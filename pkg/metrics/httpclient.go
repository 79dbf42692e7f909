package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// HTTPClient records outbound calls and their attempts by discovery source and result. It
// implements httpclient.Observer; pass it as httpclient.Deps.Observer.
//
// calls_total counts what the caller saw, attempts_total what went on the wire: their
// difference is the number of retries, and attempts with a result other than "ok" are the
// failures the retries hid.
type HTTPClient struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	attempts *prometheus.CounterVec
	ejected  *prometheus.CounterVec
}

// clientLabels are the labels of every client metric: source is how the backend was found
// (dns, env, endpointslices, or none when it never was) and result how the call or attempt ended.
var clientLabels = []string{"source", "result"}

// NewHTTPClient registers http_client_calls_total, http_client_call_duration_seconds,
// http_client_attempts_total and http_client_ejections_total with reg. It panics if they are registered already: a service
// with several clients gives each its own prometheus.WrapRegistererWith label.
func NewHTTPClient(reg prometheus.Registerer) *HTTPClient {
	c := &HTTPClient{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_client_calls_total",
			Help: "Outbound calls (retries included in one call) by discovery source and result: ok, 1xx-5xx for other statuses, timeout, bad_gateway, unavailable, no_endpoint, tls_error, canceled, error.",
		}, clientLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_client_call_duration_seconds",
			Help:    "Duration of outbound calls, retries and backoff included, by discovery source and result.",
			Buckets: prometheus.DefBuckets,
		}, clientLabels),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_client_attempts_total",
			Help: "Requests sent by outbound calls, one per attempt, by discovery source and result: ok, 1xx-5xx, timeout, connection_error, tls_error, error.",
		}, clientLabels),
		ejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_client_ejections_total",
			Help: "Backend addresses taken out of the rotation for a while after consecutive failures (timeouts, 502-504, failed or broken connections), by discovery source.",
		}, []string{"source"}),
	}
	reg.MustRegister(c.calls, c.duration, c.attempts, c.ejected)
	return c
}

// ObserveCall counts one call and records its duration.
func (c *HTTPClient) ObserveCall(source discovery.Source, result string, d time.Duration) {
	s := sourceLabel(source)
	c.calls.WithLabelValues(s, result).Inc()
	c.duration.WithLabelValues(s, result).Observe(d.Seconds())
}

// ObserveAttempt counts one request sent.
func (c *HTTPClient) ObserveAttempt(source discovery.Source, result string) {
	c.attempts.WithLabelValues(sourceLabel(source), result).Inc()
}

// ObserveEjection counts one address ejected.
func (c *HTTPClient) ObserveEjection(source discovery.Source) {
	c.ejected.WithLabelValues(sourceLabel(source)).Inc()
}

// sourceLabel names the missing source, so a failed resolution reads source="none" rather
// than an empty label that Prometheus treats as absent.
func sourceLabel(s discovery.Source) string {
	if s == "" {
		return "none"
	}
	return string(s)
}
