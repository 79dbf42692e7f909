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
	Error  string `json:"error"`
	Status int    `json:"status"`
	Tried  tried  `json:"tried"`
	// BackendStatus is the status the backend answered with, when it answered but not with
	// its identity (a 403 says it refused the frontend's client certificate identity).
	BackendStatus int     `json:"backend_status,omitempty"`
	LatencyMS     float64 `json:"latency_ms"`
	TraceID       string  `json:"trace_id"`
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
		f.BackendStatus = ae.status
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
	case outcome == httpclient.ClientCertRejected:
		// Under mutual TLS: CLIENT_TLS_DIR has no tls.crt, or one the backend's CA did not
		// sign, or an expired one.
		f.Status, f.Error = http.StatusBadGateway, "backend refused our client certificate"
	case outcome == httpclient.Canceled:
		// The caller went away; nobody reads this, but it must not look like a server fault.
		f.Status, f.Error = http.StatusServiceUnavailable, "request cancelled"
	case ae != nil && ae.status == http.StatusForbidden:
		// The backend's mutual TLS trusts our certificate but not the identity it names
		// (TLS_ALLOWED_CLIENTS). A 502, not the 403 itself: the frontend's caller is not the
		// one refused, and nothing it changes would help.
		f.Status, f.Error = http.StatusBadGateway, "backend refused the frontend's identity (403)"
	case errors.Is(err, errBadAnswer):
		f.Status, f.Error = http.StatusBadGateway, "backend answered with an error or an unexpected body"
	default:
		f.Status, f.Error = http.StatusBadGateway, "backend call failed"
	}
	return f
}
