package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TLSFiles records what tlsdir.Dir.Watch sees in each mounted certificate directory: when
// the certificate in use expires, and how many changed sets were swapped in or refused. It
// implements tlsdir.Observer; a process has one, shared by its server and its clients.
type TLSFiles struct {
	notAfter *prometheus.GaugeVec
	reloads  *prometheus.CounterVec
}

// NewTLSFiles registers tls_certificate_not_after_timestamp_seconds and tls_reloads_total
// with reg. It panics if they are registered already.
func NewTLSFiles(reg prometheus.Registerer) *TLSFiles {
	t := &TLSFiles{
		notAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tls_certificate_not_after_timestamp_seconds",
			// Why a timestamp: "expires within 7 days" is then one rule,
			// tls_certificate_not_after_timestamp_seconds - time() < 7 * 86400, and a renewal
			// shows as a step up.
			Help: "End of the validity of the certificate (tls.crt) in use, in Unix seconds, by mounted directory.",
		}, []string{"dir"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tls_reloads_total",
			Help: "Changed certificate files seen in a mounted directory, by result: reloaded (in use from the next handshake) or refused (unreadable or incomplete; the old set stays).",
		}, []string{"dir", "result"}),
	}
	reg.MustRegister(t.notAfter, t.reloads)
	return t
}

// ObserveFiles records when the certificate in use in dir expires; a directory with only a
// CA bundle (a client's) has no certificate of its own and no series.
func (t *TLSFiles) ObserveFiles(dir string, notAfter time.Time) {
	if notAfter.IsZero() {
		t.notAfter.DeleteLabelValues(dir)
		return
	}
	t.notAfter.WithLabelValues(dir).Set(float64(notAfter.Unix()))
}

// ObserveReload counts a changed set in dir, swapped in (err nil) or refused.
func (t *TLSFiles) ObserveReload(dir string, err error) {
	result := "reloaded"
	if err != nil {
		result = "refused"
	}
	t.reloads.WithLabelValues(dir, result).Inc()
}
