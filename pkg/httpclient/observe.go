package httpclient

import (
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// Observer is told how each call and each of its attempts ended, so that metrics can count
// calls, retries and failures by discovery source. It is called from the caller's
// goroutine, so it must be safe for concurrent use. pkg/metrics.HTTPClient implements it.
//
// source is how the backend was found (discovery.SourceDNS, SourceEnv, or another Resolver's
// source such as endpointslices.SourceEndpointSlices), empty when it never was. result is a
// short, fixed word naming the Outcome, so that it can be a metric label:
//
//   - calls: "ok" (a 2xx Result), "1xx", "3xx", "4xx" or "5xx" (a Result with another
//     status), "timeout", "bad_gateway", "unavailable" and "no_endpoint" (the errors
//     matching ErrTimeout, ErrBadGateway, ErrUnavailable and ErrNoEndpoint), "tls_error"
//     (the backend's certificate was refused, or the TLS handshake failed: the TLS
//     Outcomes, which Error.Outcome tells apart), "canceled" (the caller gave up) or
//     "error" (an invalid request);
//   - attempts, one per request sent: "ok" or a status class as above (a retried 503 is
//     "5xx"), "timeout", "connection_error" (refused, unanswered connect, reset, closed), "tls_error" (as
//     for calls) or "error" (an unreadable or oversized answer).
type Observer interface {
	// ObserveCall reports a call (Do or Get) that ended with result after d, retries and
	// backoff included.
	ObserveCall(source discovery.Source, result string, d time.Duration)
	// ObserveAttempt reports one request sent, which ended with result.
	ObserveAttempt(source discovery.Source, result string)
	// ObserveEjection reports that an address was taken out of the rotation for a while
	// after its attempts kept failing, or again after its probe failed.
	ObserveEjection(source discovery.Source)
}
