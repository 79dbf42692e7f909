package app

import (
	"context"
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

// failure is the one place that maps a call's error to an HTTP status and a reason.
func failure(err error, view callView) failureView {
	f := failureView{LatencyMS: view.LatencyMS, TraceID: view.TraceID, Tried: tried{Addrs: []string{}}}
	var ce *httpclient.Error
	if errors.As(err, &ce) {
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
	case errors.Is(err, httpclient.ErrNoEndpoint):
		f.Status, f.Error = http.StatusServiceUnavailable, "backend not found: discovery has no address for it"
	case errors.Is(err, httpclient.ErrUnavailable):
		// Nothing accepts connections: a Service with no ready endpoints (kube-proxy rejects
		// them, or drops them when the node rate-limits its rejections) or every pod gone.
		// That is "unavailable", not a bad answer. It comes before the timeout case because
		// its cause may be a connect's own timeout.
		f.Status, f.Error = http.StatusServiceUnavailable, "backend unavailable: no backend accepted the connection"
	case errors.Is(err, httpclient.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		f.Status, f.Error = http.StatusGatewayTimeout, "backend did not answer within the deadline"
	case errors.Is(err, httpclient.ErrBadGateway):
		f.Status, f.Error = http.StatusBadGateway, "backend unreachable or failing"
		if ce != nil && ce.Status == http.StatusServiceUnavailable {
			f.Status, f.Error = http.StatusServiceUnavailable, "backend unavailable"
		}
	case errors.Is(err, errBadAnswer):
		f.Status, f.Error = http.StatusBadGateway, "backend answered with an error or an unexpected body"
	case errors.Is(err, context.Canceled):
		// The caller went away; nobody reads this, but it must not look like a server fault.
		f.Status, f.Error = http.StatusServiceUnavailable, "request cancelled"
	default:
		f.Status, f.Error = http.StatusBadGateway, "backend call failed"
	}
	return f
}
