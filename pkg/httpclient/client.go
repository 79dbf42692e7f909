// Package httpclient calls a backend service found through discovery the way one pod should
// call another. Every call has a deadline; idempotent calls are retried, with a fresh jittered
// backoff, on the failures a rolling update or a dead pod cause (and only on those); each retry
// goes to the next address; and each attempt is its own client span, so a trace shows what
// really happened on the wire instead of one span that hides the retries.
//
// The code reads top to bottom: Do (this file) runs the attempts under go-retry and decides
// how the call ended (tries.end); attempt.go makes one attempt and classifies its failure
// where it happens, as one Outcome (outcome.go), which the retries, the Observer's metrics
// and the caller's Error all read; unreachable.go remembers, by address, the addresses
// whose connect failed; transport.go and connage.go are the http.RoundTripper stack under
// each attempt (the connection age limit) and the attributes of the attempt spans.
//
// The retry policy is not itself an http.RoundTripper, on purpose: it retries on 502, 503
// and 504 and after a body that breaks mid-read, and bounds each attempt including its body,
// so it must read and judge the response, which the RoundTripper contract forbids ("should
// not attempt to interpret the response"; a response is never an error), and its failed
// calls would reach callers wrapped in *url.Error. A Client answers with a whole Result or an
// *Error instead.
package httpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sethvargo/go-retry"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// jitterPercent spreads retries of many clients, so a backend that just came back is not hit
// by all of them at the same instant.
const jitterPercent = 20

// Resolver finds the backend's addresses. *discovery.Resolver satisfies it; the interface
// lives here, with its consumer, so tests and other programs can plug in their own.
type Resolver interface {
	// Resolve returns the current endpoint. It is called before every attempt, so it
	// should cache. An Endpoint's Generation, when the resolver sets it, tells the client
	// when an answer is new (see unreachable).
	Resolve(ctx context.Context) (discovery.Endpoint, error)
}

// Invalidator is implemented by a Resolver that caches answers and can drop them, as
// *discovery.Resolver does. The client calls Invalidate when an address looks stale: after
// a connection broke, or a connect failed and the endpoint has no other address left. A
// Resolver that is told of every change (a watch) has nothing to drop and need not
// implement it.
type Invalidator interface {
	Invalidate()
}

// Deps are the client's collaborators, injected so that tests and programs choose them
// instead of relying on globals.
type Deps struct {
	// Resolver finds the backend. It is required; if it is also an Invalidator, the
	// client tells it when its answer looks stale.
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
	// TLS, when set, makes every call HTTPS with this configuration; its ServerName is the
	// name checked in the backend's certificate whatever address was dialled (a pod IP
	// included). tlsdir.Dir.ClientConfig makes one that follows a mounted Secret (see
	// Config.TLS). With a Deps.Transport, that transport must use it itself. Nil: plain HTTP.
	TLS *tls.Config
}

// Client calls one backend service. It is safe for concurrent use and meant to be shared:
// the round-robin position and the connection pool are per Client.
type Client struct {
	cfg         Config
	resolver    Resolver
	invalidator Invalidator // nil: the resolver has no cache to drop
	obs         Observer    // nil: calls are not reported
	// base sends the requests. It is called directly, not through an http.Client, which
	// would only add redirect following (a redirect could lead anywhere, outside discovery
	// and the retry rules, so the caller gets the 3xx and decides), a cookie jar (none here)
	// and a copy of the headers per request for the redirects.
	base   http.RoundTripper
	scheme string // "http", or "https" with Deps.TLS
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	// lastSpanName is the attempt span name made last (see spanName).
	lastSpanName atomic.Pointer[spanName]
	// next is where the next call starts in the address list; each call takes one
	// position, and its retries walk on from there.
	next atomic.Uint64
	// unreachable lists the addresses that failed to connect, so they are skipped for a
	// while; see unreachable.
	unreachable atomic.Pointer[unreachable]
	skipFor     time.Duration // how long the unreachable addresses are skipped at most
	// outliers ejects the addresses whose attempts keep failing; see outliers.
	outliers *outliers
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
		base = defaultTransport(cfg.ConnectTimeout, deps.TLS)
	}
	scheme := "http"
	if deps.TLS != nil {
		scheme = "https"
	}
	tp := deps.TracerProvider
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	prop := deps.Propagator
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	invalidator, _ := deps.Resolver.(Invalidator)
	return &Client{
		cfg:         cfg,
		skipFor:     defaultSkipFor,
		outliers:    newOutliers(cfg),
		resolver:    deps.Resolver,
		invalidator: invalidator,
		obs:         deps.Observer,
		base:        base,
		scheme:      scheme,
		tracer:      tp.Tracer(tracerName),
		prop:        prop,
	}
}

// tracerName is the instrumentation scope of the attempt spans.
const tracerName = "github.com/svc2svc/svc2svc/pkg/httpclient"

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
	// Scheme is "https" when the call went over TLS (Deps.TLS), else "http", so a caller can
	// show which it was.
	Scheme string
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
// Result with a nil error. Every error is an *Error, whose Outcome says how the call failed;
// errors.Is matches it with ErrNoEndpoint, ErrUnavailable, ErrTimeout or ErrBadGateway (TLS
// failures included),
// except when the caller cancelled ctx (it matches context.Canceled) or the request is
// invalid.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, header http.Header) (*Result, error) {
	start := time.Now()
	if method == "" {
		method = http.MethodGet
	}
	req := request{method: method, path: path, body: body, header: header, first: c.next.Add(1) - 1}
	var (
		t       tries
		outcome Outcome
		cause   error
	)
	if strings.HasPrefix(path, "/") {
		outcome, cause = c.attempts(ctx, req, &t)
	} else {
		outcome, cause = InvalidRequest, fmt.Errorf("path %q does not start with /", path)
	}
	if c.obs != nil {
		c.obs.ObserveCall(t.endpoint.Source, outcome.callResult(t.last.status), time.Since(start))
	}
	if outcome != OK {
		return nil, &Error{
			Outcome:  outcome,
			Source:   t.endpoint.Source,
			Addrs:    t.addrs(),
			Attempts: t.n,
			Status:   t.last.status,
			Err:      cause,
			op:       method + " " + path,
		}
	}
	return &Result{Status: t.last.status, Header: t.last.header, Body: t.last.body, Endpoint: t.endpoint, Addr: t.last.addr, Scheme: c.scheme, Attempts: t.n}, nil
}

// attempts makes req's attempts within Config.Timeout, waiting between them as a fresh
// go-retry backoff says, and returns how the call ended and why.
//
// The first attempt runs before the retry loop, under the caller's ctx: its own deadline
// (attempt) is never later than the call's, so it needs no context of the call's own. That
// context, which the loop's waits end with, is made only when a retry is due, which saves
// every call that succeeds at once (nearly all) a timer and a context.
func (c *Client) attempts(ctx context.Context, req request, t *tries) (Outcome, error) {
	deadline := time.Now().Add(c.cfg.Timeout)
	callDone := func() bool { return ctx.Err() != nil || !time.Now().Before(deadline) }
	if err := context.Cause(ctx); err != nil {
		return t.end(err, ctx, true) // cancelled before the call: nothing is sent
	}
	idempotent := idempotent(req.method)
	// step makes the next attempt under ctx and says whether it is to be retried.
	step := func(ctx context.Context) (again bool, err error) {
		a := c.attempt(ctx, deadline, req, t.n+1)
		t.add(a)
		live := !callDone()
		c.learn(a, live)
		if c.obs != nil && a.addr != "" {
			c.obs.ObserveAttempt(a.endpoint.Source, a.outcome.attemptResult(a.status))
		}
		if a.outcome == OK {
			return false, nil
		}
		return a.outcome.retryable(idempotent) && live, a.err
	}
	again, err := step(ctx)
	if again {
		callCtx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		first := true
		err = retry.Do(callCtx, c.backoff(), func(callCtx context.Context) error {
			if first {
				// The failure of the attempt made above: the loop waits, then retries.
				first = false
				return retry.RetryableError(err)
			}
			again, err := step(callCtx)
			if again {
				return retry.RetryableError(err)
			}
			return err
		})
	}
	return t.end(err, ctx, callDone())
}

// learn acts on what attempt a found out about the backend's addresses. callLive is false
// when the call's own deadline or the caller had ended the attempt, which then says nothing
// about the address.
func (c *Client) learn(a attempt, callLive bool) {
	switch {
	case a.addr == "":
		// Nothing was sent.
	case a.outcome.outlierFailure() && (a.outcome != Timeout || callLive):
		if c.outliers.failed(a.addr, a.endpoint.Addrs) && c.obs != nil {
			c.obs.ObserveEjection(a.endpoint.Source)
		}
	case a.outcome.answered():
		c.outliers.succeeded(a.addr)
	}
	switch a.outcome {
	case ConnectFailed:
		// While the endpoint has other addresses, skip this one rather than look up again
		// now, which would most likely list it again and cost every call a failed
		// connect; when none is left, look again before the next attempt.
		if !c.markUnreachable(a.endpoint, a.addr) {
			c.invalidate()
		}
	case ConnectionBroken:
		// A connection that broke usually means the address is stale.
		c.invalidate()
	}
}

// invalidate asks the resolver, if it caches, to look again on the next attempt.
func (c *Client) invalidate() {
	if c.invalidator != nil {
		c.invalidator.Invalidate()
	}
}

// backoff is made fresh for every call: go-retry backoffs count attempts, so sharing one
// would let calls eat each other's retries. It is built at the first retry, so the calls that
// need none (nearly all) do not build it.
func (c *Client) backoff() retry.Backoff {
	var b retry.Backoff
	return retry.BackoffFunc(func() (time.Duration, bool) {
		if b == nil {
			b = c.newBackoff()
		}
		return b.Next()
	})
}

// newBackoff is the exponential, capped, jittered backoff of one call, up to MaxAttempts.
func (c *Client) newBackoff() retry.Backoff {
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

// tries is what a call has learned from its attempts so far, for its Result or Error. add
// is its only writer.
type tries struct {
	n         int                // attempts that picked an address
	first     string             // the first address tried; "" before any
	more      []string           // the other addresses tried, each once, in the order first tried
	endpoint  discovery.Endpoint // the resolution the latest attempt used
	connected bool               // some attempt got a connection
	last      attempt            // the latest attempt, resolved or not
}

// add records attempt a.
func (t *tries) add(a attempt) {
	t.last = a
	if a.addr == "" {
		return // the resolution failed: nothing was tried
	}
	t.n++
	t.endpoint = a.endpoint
	t.connected = t.connected || a.connected
	switch {
	case t.first == "":
		t.first = a.addr
	case a.addr != t.first && !slices.Contains(t.more, a.addr):
		t.more = append(t.more, a.addr)
	}
}

// addrs lists the addresses tried, each once, in the order first tried. The first is kept
// apart from the others so that a call that tries one address (nearly all) makes no list.
func (t *tries) addrs() []string {
	if t.first == "" {
		return nil
	}
	return append([]string{t.first}, t.more...)
}

// end decides how the call ended, from err (what the last attempt or retry.Do returned), the
// caller's ctx, whether the call's time is up or the caller gave up (callDone) and the
// attempts: the one place where the attempts' outcomes become the call's.
func (t *tries) end(err error, ctx context.Context, callDone bool) (Outcome, error) {
	switch {
	case err == nil:
		return OK, nil
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up; no answer would reach anyone.
		return Canceled, ctx.Err()
	case callDone:
		return Timeout, context.DeadlineExceeded
	case t.n > 0 && !t.connected && (t.last.outcome == ConnectFailed || t.last.outcome == Timeout):
		// No attempt got as far as a connection: nothing accepts them at any address.
		return Unavailable, t.last.err
	default:
		return t.last.outcome, t.last.err
	}
}
