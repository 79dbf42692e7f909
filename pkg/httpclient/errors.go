package httpclient

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// Sentinel errors say what kind of failure a call had, so the caller can map it to its own
// answer (typically 503, 504 and 502) with errors.Is, without parsing messages. Each stands
// for one or more Outcomes (Error.Outcome has the exact one).
var (
	// ErrNoEndpoint means the backend could not be resolved: nothing was sent (NoEndpoint).
	ErrNoEndpoint = errors.New("no endpoint")
	// ErrUnavailable means no attempt could connect: every address tried refused the
	// connection or left it unanswered for Config.ConnectTimeout. Nothing was sent. It is
	// what a Service with no ready pods looks like from the caller, so it maps to 503
	// (Unavailable).
	ErrUnavailable = errors.New("unavailable")
	// ErrTimeout means the call's deadline (Config.Timeout or the caller's) passed, or
	// the last attempt hit Config.AttemptTimeout (Timeout).
	ErrTimeout = errors.New("timeout")
	// ErrBadGateway means the backend gave no usable answer: a connection that broke,
	// 502/503/504 after the last attempt, or a response that could not be read
	// (ConnectionBroken, GatewayStatus, BadResponse, or ConnectFailed after an earlier
	// attempt did connect), or a backend whose TLS was refused (CertUntrusted,
	// CertNameMismatch, CertExpired, TLSHandshakeFailed, ClientCertRejected).
	ErrBadGateway = errors.New("bad gateway")
)

// Error is what every failed call returns: how it failed (Outcome, and a sentinel via
// errors.Is), its cause, and what was tried, so that one log line explains the failure.
type Error struct {
	// Outcome is how the call ended, as the client classified it; never OK.
	Outcome Outcome
	// Source is how the backend was last resolved; empty if it never was.
	Source discovery.Source
	// Addrs lists the addresses tried, each once, in the order first tried.
	Addrs []string
	// Attempts counts the requests sent.
	Attempts int
	// Status is the last attempt's HTTP status, 0 if it got no response.
	Status int
	// Err is the last attempt's failure (or the context's error), for errors.Is/As,
	// e.g. with syscall.ECONNREFUSED.
	Err error

	op string // "GET /path"
}

// Error returns a short one-line message, e.g.
// "call GET /: 3 attempts via dns [10.0.0.1:80 10.0.0.2:80]: unavailable: connection refused".
// The addresses are listed once, so the cause keeps only its essence.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("call")
	if e.op != "" {
		b.WriteString(" " + e.op)
	}
	b.WriteString(": ")
	if e.Attempts > 0 {
		s := "s"
		if e.Attempts == 1 {
			s = ""
		}
		fmt.Fprintf(&b, "%d attempt%s via %s %v: ", e.Attempts, s, e.Source, e.Addrs)
	}
	// "bad gateway" would add nothing to "connection refused" or "status 503".
	if kind := e.Outcome.sentinel(); kind != nil && kind != ErrBadGateway {
		b.WriteString(kind.Error() + ": ")
	}
	b.WriteString(essence(e.Err))
	return b.String()
}

// Unwrap returns the sentinel and the cause, so errors.Is matches either.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if kind := e.Outcome.sentinel(); kind != nil {
		errs = append(errs, kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// essence shortens a network error to what went wrong, "connection refused" rather than
// "dial tcp 10.0.0.1:80: connect: connection refused": the address is already in the message.
func essence(err error) string {
	if err == nil {
		return "unknown error"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
