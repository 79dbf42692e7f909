package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// Discovery records service lookups by mechanism and outcome. It implements
// discovery.Observer; pass it with discovery.WithObserver.
//
// Only lookups are counted, not cache hits: a request served from the cache costs nothing
// worth watching, and keeping the cached path free of metrics keeps it free of allocations.
// discovery_lookups_total{source="dns",result="error"} rising while {source="env",result="ok"}
// follows is the sign that cluster DNS is failing and the environment fallback is in use.
type Discovery struct {
	lookups  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewDiscovery registers discovery_lookups_total and discovery_lookup_duration_seconds with
// reg. It panics if they are registered already; several resolvers share one Discovery, and
// the service label tells them apart.
func NewDiscovery(reg prometheus.Registerer) *Discovery {
	m := &Discovery{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "discovery_lookups_total",
			Help: "Service lookups past the cache, one per mechanism tried (dns, then env), by service, source and result (ok, error).",
		}, []string{"service", "source", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "discovery_lookup_duration_seconds",
			Help: "Duration of service lookups past the cache, by service and source.",
			// A cluster DNS answers in about a millisecond; the top buckets catch timeouts.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12), // 0.5ms to about 1s
		}, []string{"service", "source"}),
	}
	reg.MustRegister(m.lookups, m.duration)
	return m
}

// ObserveLookup counts one lookup through source and records its duration.
func (m *Discovery) ObserveLookup(service string, source discovery.Source, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.lookups.WithLabelValues(service, string(source), result).Inc()
	m.duration.WithLabelValues(service, string(source)).Observe(d.Seconds())
}

// EndpointSlices records the health of EndpointSlice watches. It implements
// endpointslices.Observer; pass it with endpointslices.WithObserver.
//
// discovery_endpointslices_ready_endpoints at 0 means calls get 503 at once; failures rising
// means the frontend is serving from its last view (or, before the first list, from DNS) and
// the watch needs attention, typically RBAC or egress to the API server.
type EndpointSlices struct {
	ready    *prometheus.GaugeVec
	failures *prometheus.CounterVec
}

// NewEndpointSlices registers discovery_endpointslices_ready_endpoints and
// discovery_endpointslices_failures_total with reg. It panics if they are registered already.
func NewEndpointSlices(reg prometheus.Registerer) *EndpointSlices {
	m := &EndpointSlices{
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "discovery_endpointslices_ready_endpoints",
			Help: "Ready addresses of the watched Service, as its EndpointSlices last said, by service.",
		}, []string{"service"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "discovery_endpointslices_failures_total",
			Help: "Failed lists and watches of EndpointSlices (each retried after a backoff), by service.",
		}, []string{"service"}),
	}
	reg.MustRegister(m.ready, m.failures)
	return m
}

// ObserveReady sets the ready count of service.
func (m *EndpointSlices) ObserveReady(service string, ready int) {
	m.ready.WithLabelValues(service).Set(float64(ready))
}

// ObserveFailure counts a failed list or watch of service.
func (m *EndpointSlices) ObserveFailure(service string) {
	m.failures.WithLabelValues(service).Inc()
}
