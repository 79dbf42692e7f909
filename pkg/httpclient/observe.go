package httpclient

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// Observer is told how each call and each of its attempts ended, so that metrics can count
// calls, retries and failures by discovery source. It is called from the caller's
// goroutine, so it must be safe for concurrent use. pkg/metrics.HTTPClient implements it.
//
// source is how the backend was found (discovery.SourceDNS, SourceEnv, or another Resolver's
// source such as endpointslices.SourceEndpointSlices), empty when it never was. result is a
// short, fixed word, so that it can be a metric label:
//
//   - calls: "ok" (a 2xx Result), "1xx", "3xx", "4xx" or "5xx" (a Result with another
//     status), "timeout", "bad_gateway", "unavailable" and "no_endpoint" (the errors
//     matching ErrTimeout, ErrBadGateway, ErrUnavailable and ErrNoEndpoint), "canceled" (the caller gave up) or "error" (a
//     malformed request);
//   - attempts, one per request sent: "ok" or a status class as above (a retried 503 is
//     "5xx"), "timeout", "connection_error" (refused, unanswered connect, reset, closed) or "error" (an
//     unreadable or oversized answer).
type Observer interface {
	// ObserveCall reports a call (Do or Get) that ended with result after d, retries and
	// backoff included.
	ObserveCall(source discovery.Source, result string, d time.Duration)
	// ObserveAttempt reports one request sent, which ended with result.
	ObserveAttempt(source discovery.Source, result string)
}

// observeCall reports a finished call to the Observer.
func (c *Client) observeCall(st *call, start time.Time, res *Result, err error) {
	c.obs.ObserveCall(st.endpoint.Source, callResult(res, err), time.Since(start))
}

// callResult names how a call ended, in the words Observer documents.
func callResult(res *Result, err error) string {
	switch {
	case err == nil:
		return statusResult(res.Status)
	case errors.Is(err, ErrNoEndpoint):
		return "no_endpoint"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrBadGateway):
		return "bad_gateway"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "error"
	}
}

// attemptResult names how the attempt just made ended, from what attempt recorded in st.
func attemptResult(st *call, res *Result, err error) string {
	switch {
	case err == nil:
		return statusResult(res.Status)
	case errors.Is(st.kind, ErrTimeout):
		return "timeout"
	case retryableStatus(st.status):
		return statusResult(st.status)
	case st.retryable:
		// The only other retryable failures are connection errors (see transportFailure).
		return "connection_error"
	default:
		return "error"
	}
}

// statusResult is "ok" for a 2xx status and its class ("4xx") otherwise: classes keep the
// label's values few, and the exact status is in the trace.
func statusResult(status int) string {
	if status >= 200 && status < 300 {
		return "ok"
	}
	if status < 100 || status > 599 {
		return "error"
	}
	return strconv.Itoa(status/100) + "xx"
}
