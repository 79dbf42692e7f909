// Package httpclient calls a backend service found through discovery the way one pod should
// call another. Every call has a deadline; idempotent calls are retried, with a fresh jittered
// backoff, on the failures a rolling update or a dead pod cause (and only on those); each retry
// goes to the next address; and each attempt is its own client span, so a trace shows what
// really happened on the wire instead of one span that hides the retries.
package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sethvargo/go-retry"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// maxBodyBytes caps a response body: the client buffers bodies whole, so an unbounded one
// from a misbehaving backend would cost the caller its memory.
const maxBodyBytes = 1 << 20

// drainBytes is how much of a retryable error response is read before closing it, so that a
// short error page does not cost the connection; anything longer is cheaper to drop.
const drainBytes = 64 << 10

// jitterPercent spreads retries of many clients, so a backend that just came back is not hit
// by all of them at the same instant.
const jitterPercent = 20

// Resolver finds the backend's addresses. *discovery.Resolver satisfies it; the interface
// lives here, with its consumer, so tests and other programs can plug in their own.
type Resolver interface {
	// Resolve returns the current endpoint. It is called before every attempt, so it
	// should cache.
	Resolve(ctx context.Context) (discovery.Endpoint, error)
	// Invalidate drops the cached endpoint. The client calls it after a connection
	// failure, because a refused or reset connection usually means the address is stale;
	// an address that failed a connect is skipped instead while the endpoint has others
	// (see unreachable).
	// Resolve should return the same Addrs slice until it looks up again: the client
	// recognises a resolution by it.
	Invalidate()
}

// Deps are the client's collaborators, injected so that tests and programs choose them
// instead of relying on globals.
type Deps struct {
	// Resolver finds the backend. It is required.
	Resolver Resolver
	// Transport sends the requests. Nil means a clone of http.DefaultTransport tuned for
	// service-to-service calls: no proxy, 64 idle connections per backend address,
	// Config.ConnectTimeout on every connect, and connections dated so that
	// Config.MaxConnAge applies (neither applies to another transport).
	Transport http.RoundTripper
	// TracerProvider makes the attempt spans. Nil means no spans are recorded, though
	// the caller's trace context is still propagated.
	TracerProvider trace.TracerProvider
	// Propagator writes the trace context into the request headers. Nil means W3C
	// tracecontext plus baggage.
	Propagator propagation.TextMapPropagator
	// Observer, when set, is told how every call and attempt ended, to record metrics
	// (see pkg/metrics.HTTPClient). Nil records nothing.
	Observer Observer
}

// Client calls one backend service. It is safe for concurrent use and meant to be shared:
// the round-robin position and the connection pool are per Client.
type Client struct {
	cfg      Config
	resolver Resolver
	obs      Observer // nil: calls are not reported
	base     http.RoundTripper
	http     *http.Client
	// next is where the next call starts in the address list; each call takes one
	// position, and its retries walk on from there.
	next atomic.Uint64
	// unreachable lists the addresses of the latest resolution that failed to connect, so
	// they are skipped; see unreachable.
	unreachable atomic.Pointer[unreachable]
	skipFor     time.Duration // how long the unreachable addresses are skipped at most
}

// New returns a Client. It panics if deps.Resolver is nil: a client with no way to find its
// backend is a wiring mistake that should fail at startup, not on the first request.
func New(cfg Config, deps Deps) *Client {
	if deps.Resolver == nil {
		panic("httpclient: New needs a Resolver")
	}
	cfg = cfg.withDefaults()
	base := deps.Transport
	if base == nil {
		base = defaultTransport(cfg.ConnectTimeout)
	}
	tp := deps.TracerProvider
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	prop := deps.Propagator
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	rt := otelhttp.NewTransport(tagAttempts{next: limitAge(base, cfg.MaxConnAge)},
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(prop),
		// otelhttp would otherwise read the global meter provider; nothing here is global.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(spanName),
	)
	return &Client{
		cfg:      cfg,
		skipFor:  defaultSkipFor,
		resolver: deps.Resolver,
		obs:      deps.Observer,
		base:     base,
		http: &http.Client{
			Transport: rt,
			// A redirect could lead anywhere, outside discovery and the retry rules;
			// the caller gets the 3xx and decides.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// spanName names attempt spans "<METHOD> <path>". Callers pass fixed route paths, so the
// names stay few; the query string is left out because it would not.
func spanName(_ string, r *http.Request) string {
	return r.Method + " " + r.URL.Path
}

// CloseIdleConnections closes the pooled connections that are not in use, for a clean
// shutdown and for tests that check no goroutine is left behind.
func (c *Client) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Result is a backend's answer that the client does not treat as a failure: any status but
// 502, 503 and 504, whose interpretation is up to the caller.
type Result struct {
	// Status is the HTTP status code.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the whole response body, at most 1 MiB.
	Body []byte
	// Endpoint is the resolution the answering attempt used, to show where the answer
	// came from.
	Endpoint discovery.Endpoint
	// Addr is the address that answered.
	Addr string
	// Attempts counts the attempts the call took, 1 when no retry was needed.
	Attempts int
}

// Get calls GET path on the backend. Path starts with "/" and may carry a query.
func (c *Client) Get(ctx context.Context, path string) (*Result, error) {
	return c.Do(ctx, http.MethodGet, path, nil, nil)
}

// Do calls method path on the backend with body and header (either may be nil). Only
// idempotent methods are retried after a request was sent, because a request that failed on
// the way back may already have taken effect; a failed connect is retried for every method,
// since nothing reached the backend. Statuses other than 502, 503 and 504 come back as a
// Result with a nil error. Every error is an *Error; errors.Is matches it with ErrNoEndpoint,
// ErrUnavailable, ErrTimeout or ErrBadGateway, except when the caller cancelled ctx (it
// matches context.Canceled) or path does not start with "/".
func (c *Client) Do(ctx context.Context, method, path string, body []byte, header http.Header) (res *Result, err error) {
	if method == "" {
		method = http.MethodGet
	}
	st := &call{method: method, path: path, body: body, header: header, start: c.next.Add(1) - 1}
	if c.obs != nil {
		defer func(start time.Time) { c.observeCall(st, start, res, err) }(time.Now())
	}
	if !strings.HasPrefix(path, "/") {
		return nil, st.newError(nil, fmt.Errorf("path %q does not start with /", path))
	}
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	retryable := idempotent(method)
	err = retry.Do(callCtx, c.backoff(), func(callCtx context.Context) error {
		sent := st.attempts
		r, err := c.attempt(callCtx, st)
		if c.obs != nil && st.attempts > sent {
			c.obs.ObserveAttempt(st.endpoint.Source, attemptResult(st, r, err))
		}
		if err != nil {
			if (retryable || st.unsent) && st.retryable && callCtx.Err() == nil {
				return retry.RetryableError(err)
			}
			return err
		}
		res = r
		return nil
	})
	if err == nil {
		return res, nil
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up; no status would reach anyone, so there is no sentinel.
		return nil, st.newError(nil, ctx.Err())
	case callCtx.Err() != nil:
		return nil, st.newError(ErrTimeout, context.DeadlineExceeded)
	case st.attempts > 0 && !st.connected && st.kind != ErrNoEndpoint:
		// No attempt got as far as a connection: nothing accepts them at any address.
		return nil, st.newError(ErrUnavailable, st.cause)
	default:
		return nil, st.newError(st.kind, st.cause)
	}
}

// backoff is made fresh for every call: go-retry backoffs count attempts, so sharing one
// would let calls eat each other's retries.
func (c *Client) backoff() retry.Backoff {
	b := retry.NewExponential(c.cfg.BackoffBase)
	b = retry.WithCappedDuration(c.cfg.BackoffMax, b)
	// Jitter after the cap, so that capped waits still spread out.
	b = retry.WithJitterPercent(jitterPercent, b)
	return retry.WithMaxRetries(uint64(c.cfg.MaxAttempts-1), b)
}

// idempotent reports whether a request may be sent again after a failure that leaves
// unknown whether the backend acted on it (RFC 9110, section 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// call is the state of one Do across its attempts.
type call struct {
	method, path string
	body         []byte
	header       http.Header
	start        uint64

	attempts int
	endpoint discovery.Endpoint
	addrs    []string // distinct, in the order first tried

	// connected is set once an attempt gets a connection (or fails after one): from then on
	// the call's failure is the backend's answer, not "unavailable".
	connected bool

	// The last attempt's failure.
	status    int
	kind      error // sentinel
	cause     error
	retryable bool
	unsent    bool // the request never left: its connect failed
}

// fail records an attempt's failure and returns cause, for retry.Do.
func (st *call) fail(kind, cause error, retryable bool) error {
	st.kind, st.cause, st.retryable, st.unsent = kind, cause, retryable, false
	return cause
}

// newError builds the error Do returns.
func (st *call) newError(kind, cause error) *Error {
	return &Error{
		Source:   st.endpoint.Source,
		Addrs:    st.addrs,
		Attempts: st.attempts,
		Status:   st.status,
		Err:      cause,
		op:       st.method + " " + st.path,
		kind:     kind,
	}
}

// attempt resolves, picks the next address and sends the request once, within its own
// deadline. On failure it records in st whether trying again could help.
func (c *Client) attempt(callCtx context.Context, st *call) (*Result, error) {
	ctx, cancel := context.WithTimeout(callCtx, c.cfg.AttemptTimeout)
	defer cancel()
	st.status = 0

	ep, err := c.resolver.Resolve(ctx)
	if err == nil && len(ep.Addrs) == 0 {
		err = fmt.Errorf("resolve %s: no addresses", ep.Name)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, st.fail(ErrTimeout, fmt.Errorf("attempt timeout %v: %w", c.cfg.AttemptTimeout, err), true)
		}
		return nil, st.fail(ErrNoEndpoint, err, false)
	}
	addr := c.pick(ep, st.start+uint64(st.attempts))
	st.attempts++
	st.endpoint = ep
	if !slices.Contains(st.addrs, addr) {
		st.addrs = append(st.addrs, addr)
	}

	ctx = context.WithValue(ctx, attemptKey{}, &attemptInfo{n: st.attempts, endpoint: ep, addr: addr})
	req, err := http.NewRequestWithContext(ctx, st.method, "http://"+addr+st.path, bodyReader(st.body))
	if err != nil {
		return nil, st.fail(ErrBadGateway, err, false)
	}
	if st.header != nil {
		req.Header = st.header.Clone()
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportFailure(ctx, st, addr, unwrapURL(err))
	}
	defer resp.Body.Close()
	st.connected = true

	if retryableStatus(resp.StatusCode) {
		// Reading a little lets a short error page keep its connection alive.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
		st.status = resp.StatusCode
		return nil, st.fail(ErrBadGateway, fmt.Errorf("status %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)), true)
	}
	b, err := readBody(resp)
	if err != nil {
		st.status = resp.StatusCode
		if errors.Is(err, errBodyTooLarge) {
			return nil, st.fail(ErrBadGateway, err, false)
		}
		return nil, c.transportFailure(ctx, st, addr, fmt.Errorf("read body: %w", err))
	}
	return &Result{Status: resp.StatusCode, Header: resp.Header, Body: b, Endpoint: ep, Addr: addr, Attempts: st.attempts}, nil
}

// transportFailure classifies an error that left no usable response.
func (c *Client) transportFailure(ctx context.Context, st *call, addr string, err error) error {
	dialed := !dialFailure(err)
	if dialed {
		st.connected = true
	}
	switch {
	case ctx.Err() != nil:
		// Retryable only while the whole call has time; Do checks that. A connect cut
		// short by the attempt's deadline stays unconnected: the address may be gone.
		return st.fail(ErrTimeout, fmt.Errorf("attempt timeout %v: %w", c.cfg.AttemptTimeout, err), true)
	case !dialed:
		// Nothing listens there or nothing answers (a pod that died, is restarting or
		// is gone while DNS still lists it). While other addresses are left, skip it until
		// the next resolution rather than look up again now, which would most likely list
		// it again and cost every call a failed connect; otherwise look again before the
		// next attempt.
		if !c.markUnreachable(st.endpoint, addr) {
			c.resolver.Invalidate()
		}
		st.fail(ErrBadGateway, err, true)
		st.unsent = true
		return err
	case connectionError(err):
		// The connection broke after the request may have been sent.
		c.resolver.Invalidate()
		return st.fail(ErrBadGateway, err, true)
	default:
		// A malformed answer would be malformed again.
		return st.fail(ErrBadGateway, err, false)
	}
}

// retryableStatus reports the statuses that say "not now" rather than "no": a proxy, a pod
// that is shutting down or overloaded, or a gateway timeout. 500 is left out because it is
// usually a bug that a retry would only repeat.
func retryableStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

var errBodyTooLarge = fmt.Errorf("response body larger than %d bytes", maxBodyBytes)

// readBody reads the whole body, refusing more than maxBodyBytes rather than cutting it,
// since a truncated body would look valid.
func readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > maxBodyBytes {
		return nil, errBodyTooLarge
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
