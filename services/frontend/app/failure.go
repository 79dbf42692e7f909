package app

import (
	"errors"
	"net/http"

	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// tried says what the frontend attempted before giving up, so a failed answer is actionable.
type tried struct {
	Source   string   `json:"source,omitempty"`
	Addrs    []string `json:"addrs"`
	Attempts int      `json:"attempts"`
}

// failureView is the body of every failed call: a short reason, never internal error text.
type failureView struct {
	Error     string  `json:"error"`
	Status    int     `json:"status"`
	Tried     tried   `json:"tried"`
	LatencyMS float64 `json:"latency_ms"`
	TraceID   string  `json:"trace_id"`
}

// failure is the one place that maps a failed call to an HTTP status and a reason. err is
// what backendCaller.call returns: an *httpclient.Error, whose Outcome the client decided
// where the failure happened, or the frontend's own errBadAnswer (in an *answerError) for a
// backend that answered, but not with its identity.
func failure(err error, view callView) failureView {
	f := failureView{LatencyMS: view.LatencyMS, TraceID: view.TraceID, Tried: tried{Addrs: []string{}}}
	outcome := httpclient.OK // the call itself succeeded, unless err says otherwise
	var ce *httpclient.Error
	if errors.As(err, &ce) {
		outcome = ce.Outcome
		f.Tried = tried{Source: string(ce.Source), Addrs: ce.Addrs, Attempts: ce.Attempts}
		if f.Tried.Addrs == nil {
			f.Tried.Addrs = []string{}
		}
	}
	var ae *answerError
	if errors.As(err, &ae) {
		f.Tried = tried{Source: view.Discovery.Source, Addrs: []string{ae.addr}, Attempts: ae.attempts}
	}
	switch {
	case outcome == httpclient.NoEndpoint:
		f.Status, f.Error = http.StatusServiceUnavailable, "backend not found: discovery has no address for it"
	case outcome == httpclient.Unavailable:
		// Nothing accepts connections: a Service with no ready endpoints (kube-proxy rejects
		// them, or drops them when the node rate-limits its rejections) or every pod gone.
		// That is "unavailable", not a bad answer or a timeout, even when a connect timed out.
		f.Status, f.Error = http.StatusServiceUnavailable, "backend unavailable: no backend accepted the connection"
	case outcome == httpclient.Timeout:
		f.Status, f.Error = http.StatusGatewayTimeout, "backend did not answer within the deadline"
	case outcome == httpclient.GatewayStatus && ce.Status == http.StatusServiceUnavailable:
		// The backend itself answered 503 to the last attempt: it says it is unavailable.
		f.Status, f.Error = http.StatusServiceUnavailable, "backend unavailable"
	case outcome == httpclient.GatewayStatus, outcome == httpclient.ConnectFailed,
		outcome == httpclient.ConnectionBroken, outcome == httpclient.BadResponse:
		f.Status, f.Error = http.StatusBadGateway, "backend unreachable or failing"
	case outcome == httpclient.CertUntrusted:
		// The TLS failures name what to fix (ca.crt, the certificate's names, its renewal);
		// the log line has the x509 detail.
		f.Status, f.Error = http.StatusBadGateway, "backend certificate not trusted"
	case outcome == httpclient.CertNameMismatch:
		f.Status, f.Error = http.StatusBadGateway, "backend certificate name mismatch"
	case outcome == httpclient.CertExpired:
		f.Status, f.Error = http.StatusBadGateway, "backend certificate expired"
	case outcome == httpclient.TLSHandshakeFailed:
		f.Status, f.Error = http.StatusBadGateway, "backend TLS handshake failed"
	case outcome == httpclient.Canceled:
		// The caller went away; nobody reads this, but it must not look like a server fault.
		f.Status, f.Error = http.StatusServiceUnavailable, "request cancelled"
	case errors.Is(err, errBadAnswer):
		f.Status, f.Error = http.StatusBadGateway, "backend answered with an error or an unexpected body"
	default:
		f.Status, f.Error = http.StatusBadGateway, "backend call failed"
	}
	return f
}
