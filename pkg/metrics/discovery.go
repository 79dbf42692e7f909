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
