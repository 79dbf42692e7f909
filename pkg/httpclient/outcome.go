package httpclient

import (
	"strconv"
)

// Outcome is how one attempt, or a whole call, ended. Like Envoy's response flags it is one
// code per kind of failure, decided once where the failure happens (attempt.go for an
// attempt, tries.end for the call), and then only read: by the retry loop (retryable), by
// the Observer's metric labels (attemptResult, callResult), by the sentinel errors
// (sentinel) and, through Error.Outcome, by the caller that turns a failed call into its
// own answer, such as an HTTP status.
type Outcome uint8

const (
	// OK means the backend answered with a status the client hands back as a Result:
	// anything but 502, 503 and 504, whose interpretation is up to the caller.
	OK Outcome = iota
	// NoEndpoint means the resolver found no address: nothing was sent.
	NoEndpoint
	// ConnectFailed means the connect was refused, or not answered within
	// Config.ConnectTimeout: nothing was sent, so it is retried whatever the method.
	ConnectFailed
	// ConnectionBroken means the connection failed (reset, closed, unreadable) after the
	// request may have been sent, so only an idempotent request is retried.
	ConnectionBroken
	// Timeout means a deadline passed: Config.AttemptTimeout for an attempt;
	// Config.Timeout or the caller's deadline for a call, or the last attempt's own.
	Timeout
	// GatewayStatus means the backend answered 502, 503 or 504: "not now" rather than "no",
	// so an idempotent request is retried. Error.Status says which.
	GatewayStatus
	// BadResponse means the answer could not be used (malformed, or larger than 1 MiB); it
	// would be the same again, so it is not retried.
	BadResponse
	// Unavailable is a call's outcome only: its attempts all failed to get a connection
	// (refused, unanswered, or out of time while connecting). Nothing accepts connections
	// at any address, which is what a Service with no ready pods looks like.
	Unavailable
	// Canceled is a call's outcome only: the caller's context was cancelled.
	Canceled
	// InvalidRequest means the request could not be made (a path without a leading "/",
	// an invalid method): a bug of the caller, never retried.
	InvalidRequest
	// CertUntrusted means the backend's certificate does not chain to the CA bundle
	// (Deps.TLS): a wrong or not yet updated ca.crt, or a backend that is not ours. The
	// TLS outcomes are one each, so the fix shows in the outcome, and never retried: every
	// attempt would meet the same certificate.
	CertUntrusted
	// CertNameMismatch means the backend's certificate is trusted but does not name the
	// Service (Deps.TLS's ServerName).
	CertNameMismatch
	// CertExpired means the backend's certificate (or one in its chain) is outside its
	// validity period: expired, or the clocks disagree.
	CertExpired
	// TLSHandshakeFailed means the handshake failed otherwise: the backend speaks plain
	// HTTP, or refused the handshake with an alert that is not about our certificate.
	TLSHandshakeFailed
	// ClientCertRejected means the backend requires mutual TLS and refused our client
	// certificate with an alert (bad_certificate, certificate_required and the like): none
	// in CLIENT_TLS_DIR, one its CA did not sign, or an expired one. Under TLS 1.3 the alert
	// arrives after the handshake, with the first read, but nothing was served: never
	// retried, since every pod would refuse it alike.
	ClientCertRejected
)

var outcomeNames = [...]string{
	OK:                 "ok",
	NoEndpoint:         "no_endpoint",
	ConnectFailed:      "connect_failed",
	ConnectionBroken:   "connection_broken",
	Timeout:            "timeout",
	GatewayStatus:      "gateway_status",
	BadResponse:        "bad_response",
	Unavailable:        "unavailable",
	Canceled:           "canceled",
	InvalidRequest:     "invalid_request",
	CertUntrusted:      "cert_untrusted",
	CertNameMismatch:   "cert_name_mismatch",
	CertExpired:        "cert_expired",
	TLSHandshakeFailed: "tls_handshake_failed",
	ClientCertRejected: "client_cert_rejected",
}

// String names the outcome for logs and test messages. The metric labels are coarser and
// fixed by the Observer's contract; see attemptResult and callResult.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// TLS reports whether o is a TLS failure (CertUntrusted, CertNameMismatch, CertExpired,
// TLSHandshakeFailed, ClientCertRejected), for a caller that answers them alike.
func (o Outcome) TLS() bool {
	return o >= CertUntrusted && o <= ClientCertRejected
}

// retryable reports whether an attempt that ended with o is worth trying again. Only a
// failed connect is retried for every method: nothing reached the backend. The other
// failures a rolling update or a dead pod cause are retried only for an idempotent request,
// because it may already have taken effect.
func (o Outcome) retryable(idempotent bool) bool {
	switch o {
	case ConnectFailed:
		return true
	case ConnectionBroken, Timeout, GatewayStatus:
		return idempotent
	}
	return false
}

// outlierFailure reports whether an attempt that ended with o counts towards ejecting its
// address (see outliers): Envoy's gateway failures, the ones a hung, dying or overloaded pod
// causes. Another address may well do better.
func (o Outcome) outlierFailure() bool {
	switch o {
	case ConnectFailed, ConnectionBroken, Timeout, GatewayStatus:
		return true
	}
	return false
}

// answered reports whether an attempt that ended with o shows its address alive: it answered,
// even if with an error status or an unusable body, which another address would likely repeat.
func (o Outcome) answered() bool {
	return o == OK || o == BadResponse
}

// sentinel is the exported error that errors.Is matches for a call that ended with o; nil
// when there is none (a cancelled call matches context.Canceled instead).
func (o Outcome) sentinel() error {
	switch o {
	case NoEndpoint:
		return ErrNoEndpoint
	case Unavailable:
		return ErrUnavailable
	case Timeout:
		return ErrTimeout
	case ConnectFailed, ConnectionBroken, GatewayStatus, BadResponse:
		return ErrBadGateway
	case CertUntrusted, CertNameMismatch, CertExpired, TLSHandshakeFailed, ClientCertRejected:
		return ErrBadGateway
	}
	return nil
}

// attemptResult is the Observer's result word for an attempt that ended with o and status.
func (o Outcome) attemptResult(status int) string {
	switch o {
	case OK, GatewayStatus:
		return statusResult(status)
	case Timeout:
		return "timeout"
	case ConnectFailed, ConnectionBroken:
		return "connection_error"
	case CertUntrusted, CertNameMismatch, CertExpired, TLSHandshakeFailed, ClientCertRejected:
		return "tls_error"
	}
	return "error"
}

// callResult is the Observer's result word for a call that ended with o; status is the
// answer's for OK.
func (o Outcome) callResult(status int) string {
	switch o {
	case OK:
		return statusResult(status)
	case NoEndpoint:
		return "no_endpoint"
	case Unavailable:
		return "unavailable"
	case Timeout:
		return "timeout"
	case ConnectFailed, ConnectionBroken, GatewayStatus, BadResponse:
		return "bad_gateway"
	case Canceled:
		return "canceled"
	case CertUntrusted, CertNameMismatch, CertExpired, TLSHandshakeFailed, ClientCertRejected:
		return "tls_error"
	}
	return "error"
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
