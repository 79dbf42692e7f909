package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// maxBodyBytes caps a response body: the client buffers bodies whole, so an unbounded one
// from a misbehaving backend would cost the caller its memory.
const maxBodyBytes = 1 << 20

// drainBytes is how much of a retryable error response is read before closing it, so that a
// short error page does not cost the connection; anything longer is cheaper to drop.
const drainBytes = 64 << 10

// request is what Do was asked to send; it is the same for every attempt.
type request struct {
	method, path string
	body         []byte
	header       http.Header
	first        uint64 // the round-robin position of the call's first attempt
}

// attempt is what one attempt came to: its outcome, decided here where the failure happened,
// and what the call needs to know about it. Nothing changes it once attempt returns it.
type attempt struct {
	outcome Outcome
	err     error // why it failed; nil when outcome is OK

	// endpoint and addr say where it went; both are zero when the resolution failed, and
	// then nothing was tried: it does not count as an attempt.
	endpoint discovery.Endpoint
	addr     string
	// connected is set when a connection was made (even if it failed afterwards): the
	// failure is then the backend's, not "nothing accepts connections".
	connected bool

	status int // the response's status; 0 without a response
	header http.Header
	body   []byte
}

// attempt resolves, picks the next address and sends req once, within its own deadline
// (Config.AttemptTimeout, or the call's deadline when that comes first). n is the attempt's
// number, from 1.
func (c *Client) attempt(ctx context.Context, callDeadline time.Time, req request, n int) attempt {
	deadline := time.Now().Add(c.cfg.AttemptTimeout)
	if callDeadline.Before(deadline) {
		deadline = callDeadline
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	ep, err := c.resolver.Resolve(ctx)
	if err == nil && len(ep.Addrs) == 0 {
		err = fmt.Errorf("resolve %s: no addresses", ep.Name)
	}
	if err != nil {
		if ctx.Err() != nil {
			return attempt{outcome: Timeout, err: c.attemptTimeout(err)}
		}
		return attempt{outcome: NoEndpoint, err: err}
	}
	a := attempt{endpoint: ep, addr: c.pick(ep, req.first+uint64(n-1))}

	// Each attempt is a client span of its own, named "METHOD /path" (callers pass fixed
	// route paths, so the names stay few; the query would not), whose context goes out in
	// the request's headers.
	ctx, span := c.tracer.Start(ctx, c.spanName(req.method, req.path), clientStart...)
	a = c.send(ctx, req, a)
	if span.IsRecording() {
		span.SetAttributes(attemptAttributes(req.method, c.scheme, a.addr, req.path, ep, n)...)
		if a.status > 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCode(a.status))
		}
		switch {
		case a.err != nil && a.status == 0:
			span.SetStatus(codes.Error, a.err.Error())
		case a.status >= http.StatusBadRequest:
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
	return a
}

// spanName returns the name of the attempt spans of method path: "METHOD /path", without
// the query. The last name made is kept, so a client that calls one route over and over (as
// the frontend does) makes it once rather than on every attempt.
func (c *Client) spanName(method, path string) string {
	if n := c.lastSpanName.Load(); n != nil && n.method == method && n.path == path {
		return n.name
	}
	route, _, _ := strings.Cut(path, "?")
	n := &spanName{method: method, path: path, name: method + " " + route}
	c.lastSpanName.Store(n)
	return n.name
}

// spanName is a span name and what it was made from.
type spanName struct{ method, path, name string }

// clientStart are the start options of every attempt span, made once.
var clientStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

// send makes attempt a: it sends req to a.addr within ctx and reads the answer.
func (c *Client) send(ctx context.Context, req request, a attempt) attempt {
	ctx, age := withAgeLimit(ctx, c.cfg.MaxConnAge)
	hreq, err := http.NewRequestWithContext(ctx, req.method, c.scheme+"://"+a.addr+req.path, bodyReader(req.body))
	if err != nil {
		a.outcome, a.err = InvalidRequest, err
		return a
	}
	if age != nil {
		age.req = hreq
	}
	if req.header != nil {
		hreq.Header = req.header.Clone()
	}
	c.prop.Inject(ctx, propagation.HeaderCarrier(hreq.Header))
	resp, err := c.base.RoundTrip(hreq)
	if err != nil {
		return c.failed(ctx, a, unwrapURL(err))
	}
	defer resp.Body.Close()
	a.connected = true
	a.status = resp.StatusCode

	if retryableStatus(resp.StatusCode) {
		// Reading a little lets a short error page keep its connection alive.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
		a.outcome, a.err = GatewayStatus, fmt.Errorf("status %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		return a
	}
	body, err := readBody(resp)
	if errors.Is(err, errBodyTooLarge) {
		a.outcome, a.err = BadResponse, err
		return a
	}
	if err != nil {
		return c.failed(ctx, a, fmt.Errorf("read body: %w", err))
	}
	a.header, a.body = resp.Header, body
	return a
}

// failed classifies err, which left attempt a without a usable response; ctx is the
// attempt's.
func (c *Client) failed(ctx context.Context, a attempt, err error) attempt {
	dialed := !dialFailure(err)
	a.connected = a.connected || dialed
	switch {
	case ctx.Err() != nil:
		// A connect cut short by the attempt's deadline stays unconnected: the address
		// may be gone.
		a.outcome, a.err = Timeout, c.attemptTimeout(err)
	case tlsFailure(err) != OK:
		// The connection was made, but the backend is not the one we trust, or does not
		// speak TLS: another attempt would meet the same certificate.
		a.outcome, a.err = tlsFailure(err), err
	case !dialed:
		// Nothing listens there, or nothing answers: a pod that died, is restarting or
		// is gone while DNS still lists it.
		a.outcome, a.err = ConnectFailed, err
	case connectionError(err):
		a.outcome, a.err = ConnectionBroken, err
	default:
		// A malformed answer would be malformed again.
		a.outcome, a.err = BadResponse, err
	}
	return a
}

// attemptTimeout says that err ended an attempt because its deadline passed.
func (c *Client) attemptTimeout(err error) error {
	return fmt.Errorf("attempt timeout %v: %w", c.cfg.AttemptTimeout, err)
}

// retryableStatus reports the statuses that say "not now" rather than "no": a proxy, a pod
// that is shutting down or overloaded, or a gateway timeout. 500 is left out because it is
// usually a bug that a retry would only repeat.
func retryableStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// tlsFailure names the TLS failure err is, or returns OK when it is none. The checks are
// crypto/tls's (or tlsdir's, which returns the same errors); an expired certificate is told
// apart from one that is valid but not trusted, so the fix is obvious from the outcome.
func tlsFailure(err error) Outcome {
	var (
		hostErr    x509.HostnameError
		unknownErr x509.UnknownAuthorityError
		invalidErr x509.CertificateInvalidError
		verifyErr  *tls.CertificateVerificationError
		recordErr  tls.RecordHeaderError
		op         *net.OpError
	)
	switch {
	case errors.As(err, &hostErr):
		return CertNameMismatch
	case errors.As(err, &invalidErr) && invalidErr.Reason == x509.Expired:
		return CertExpired
	case errors.As(err, &unknownErr), errors.As(err, &invalidErr), errors.As(err, &verifyErr):
		return CertUntrusted
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &recordErr):
		// The first record was not TLS: the backend speaks plain HTTP (net/http says so
		// when the answer starts with "HTTP/").
		return TLSHandshakeFailed
	case errors.As(err, &op) && op.Op == "remote error" && certAlert(op.Err):
		return ClientCertRejected
	case errors.As(err, &op) && op.Op == "remote error":
		// The backend sent a TLS alert: it refused our handshake.
		return TLSHandshakeFailed
	}
	return OK
}

// certAlerts are the TLS alerts (RFC 8446 section 6.2) a server sends about the client's
// certificate: Go's sends bad_certificate for one it refuses and certificate_required for
// none; other stacks use the rest.
var certAlerts = []tls.AlertError{42, 43, 44, 45, 46, 48, 116}

// certAlert reports whether err, a received alert, is about our certificate. crypto/tls's
// alert type is unexported; tls.AlertError has the same numbers and the same text.
func certAlert(err error) bool {
	for _, a := range certAlerts {
		if err.Error() == a.Error() {
			return true
		}
	}
	return false
}

// dialFailure reports whether err is a failed connect (refused, timed out, unreachable): the
// request never left, so retrying it cannot repeat its effect, even for a POST.
func dialFailure(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// connectionError reports failures to keep the connection: the ones a pod that is gone or
// restarting causes, which another address or a fresh resolution may not have.
func connectionError(err error) bool {
	var dnsErr *net.DNSError
	var op *net.OpError
	// *net.OpError covers every failed dial, read or write on the socket (refused, reset,
	// unreachable, closed), whatever the errno.
	return errors.As(err, &op) ||
		errors.As(err, &dnsErr) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// unwrapURL drops the *url.Error wrapper net/http adds: its method and URL repeat what the
// Error already says.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

var errBodyTooLarge = fmt.Errorf("response body larger than %d bytes", maxBodyBytes)

// readBody reads the whole body, refusing more than maxBodyBytes rather than cutting it,
// since a truncated body would look valid.
func readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > maxBodyBytes {
		return nil, errBodyTooLarge
	}
	if resp.ContentLength >= 0 && resp.Body != http.NoBody {
		// The length is known: one buffer of that size, read whole.
		b := make([]byte, resp.ContentLength)
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBodyBytes {
		return nil, errBodyTooLarge
	}
	return b, nil
}

// bodyReader returns nil for no body, so a GET carries no Content-Length: 0.
func bodyReader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	// bytes.Reader lets net/http set ContentLength and GetBody.
	return bytes.NewReader(b)
}
