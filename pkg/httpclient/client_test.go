package httpclient_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// hangGuard bounds how long a call that should end by its deadline may take before the test
// calls it a hang. It is a multiple of the deadline on purpose: precise timing is for
// benchmarks, and -race on a busy machine is slow.
const hangGuard = 5

// resolverFunc is a fake httpclient.Resolver: the function answers Resolve. It has no
// Invalidate, like a resolver that is told of every change.
type resolverFunc func(ctx context.Context) (discovery.Endpoint, error)

func (f resolverFunc) Resolve(ctx context.Context) (discovery.Endpoint, error) { return f(ctx) }

// fixed resolves to addrs, as DNS would for a stable service.
func fixed(addrs ...string) resolverFunc {
	ep := discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: addrs}
	return func(context.Context) (discovery.Endpoint, error) { return ep, nil }
}

// countingResolver counts resolutions and invalidations, to check that every attempt
// resolves and that connection failures invalidate.
type countingResolver struct {
	resolve       resolverFunc
	resolves      atomic.Int64
	invalidations atomic.Int64
}

func (r *countingResolver) Resolve(ctx context.Context) (discovery.Endpoint, error) {
	r.resolves.Add(1)
	return r.resolve(ctx)
}

func (r *countingResolver) Invalidate() { r.invalidations.Add(1) }

// fast is a Config with short waits, so retries do not slow the tests down.
var fast = httpclient.Config{
	Timeout:        5 * time.Second,
	AttemptTimeout: 2 * time.Second,
	MaxAttempts:    3,
	BackoffBase:    time.Millisecond,
	BackoffMax:     5 * time.Millisecond,
}

// orFast is cfg, or fast for a test case that leaves its Config zero.
func orFast(cfg httpclient.Config) httpclient.Config {
	if cfg == (httpclient.Config{}) {
		return fast
	}
	return cfg
}

// newClient returns a client whose idle connections are closed when the test ends.
func newClient(t testing.TB, cfg httpclient.Config, deps httpclient.Deps) *httpclient.Client {
	t.Helper()
	c := httpclient.New(cfg, deps)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// startServer runs h on a loopback port until the test ends and returns its address.
func startServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// statusServer answers its n-th request with statuses[n] (the last one from then on) and
// counts the requests.
func statusServer(t testing.TB, statuses ...int) (addr string, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	addr = startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(requests.Add(1)) - 1
		w.WriteHeader(statuses[min(n, len(statuses)-1)])
		fmt.Fprint(w, "answer ", n+1)
	}))
	return addr, requests
}

// closedAddr returns a loopback address nothing listens on, so connecting is refused.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// rawServer accepts connections on loopback and hands each to serve, a backend that
// misbehaves below HTTP. Everything is closed, and waited for, when the test ends.
func rawServer(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// silentAddr returns the address of a backend that accepts connections and never answers.
func silentAddr(t testing.TB) string {
	t.Helper()
	return rawServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// hangupAddr returns the address of a backend that reads a request and closes the
// connection without answering, like a process that dies mid-request.
func hangupAddr(t testing.TB) string {
	t.Helper()
	return rawServer(t, func(c net.Conn) {
		_, _ = http.ReadRequest(bufio.NewReader(c))
		c.Close()
	})
}

func TestDoStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		method       string
		statuses     []int
		wantStatus   int
		wantErr      error
		wantAttempts int
	}{
		{"GET 200", http.MethodGet, []int{200}, 200, nil, 1},
		{"GET 503 then 200 is retried", http.MethodGet, []int{503, 200}, 200, nil, 2},
		{"GET 502 504 200 is retried twice", http.MethodGet, []int{502, 504, 200}, 200, nil, 3},
		{"GET 500 is not retried", http.MethodGet, []int{500, 200}, 500, nil, 1},
		{"GET 404 is not retried", http.MethodGet, []int{404, 200}, 404, nil, 1},
		{"GET 302 is not followed", http.MethodGet, []int{302}, 302, nil, 1},
		{"GET 503 every time", http.MethodGet, []int{503}, 503, httpclient.ErrBadGateway, 3},
		{"POST 503 is not retried", http.MethodPost, []int{503, 200}, 503, httpclient.ErrBadGateway, 1},
		{"POST 200", http.MethodPost, []int{200}, 200, nil, 1},
		{"PUT 503 then 200 is retried", http.MethodPut, []int{503, 200}, 200, nil, 2},
		{"DELETE 502 then 200 is retried", http.MethodDelete, []int{502, 200}, 200, nil, 2},
		{"PATCH 502 is not retried", http.MethodPatch, []int{502, 200}, 502, httpclient.ErrBadGateway, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, requests := statusServer(t, tt.statuses...)
			c := newClient(t, fast, httpclient.Deps{Resolver: fixed(addr)})

			res, err := c.Do(t.Context(), tt.method, "/", nil, nil)
			if got := requests.Load(); got != int64(tt.wantAttempts) {
				t.Errorf("Do(%s) made %d requests, want %d", tt.method, got, tt.wantAttempts)
			}
			if tt.wantErr != nil {
				var e *httpclient.Error
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &e) {
					t.Fatalf("Do(%s) error = %v, want an *Error matching %v", tt.method, err, tt.wantErr)
				}
				if e.Status != tt.wantStatus || e.Attempts != tt.wantAttempts {
					t.Errorf("Do(%s) error Status, Attempts = %d, %d, want %d, %d", tt.method, e.Status, e.Attempts, tt.wantStatus, tt.wantAttempts)
				}
				if res != nil {
					t.Errorf("Do(%s) = %+v with an error, want nil", tt.method, res)
				}
				return
			}
			if err != nil {
				t.Fatalf("Do(%s) error = %v, want nil", tt.method, err)
			}
			if res.Status != tt.wantStatus || res.Attempts != tt.wantAttempts {
				t.Errorf("Do(%s) Status, Attempts = %d, %d, want %d, %d", tt.method, res.Status, res.Attempts, tt.wantStatus, tt.wantAttempts)
			}
			if want := fmt.Sprint("answer ", tt.wantAttempts); string(res.Body) != want {
				t.Errorf("Do(%s) Body = %q, want %q", tt.method, res.Body, want)
			}
			if res.Addr != addr || res.Endpoint.Source != discovery.SourceDNS {
				t.Errorf("Do(%s) Addr, Source = %s, %s, want %s, %s", tt.method, res.Addr, res.Endpoint.Source, addr, discovery.SourceDNS)
			}
		})
	}
}

func TestDoSendsBodyAndHeader(t *testing.T) {
	t.Parallel()
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("X-Request-Id"))
		fmt.Fprintf(w, "%s %s?%s ", r.Method, r.URL.Path, r.URL.RawQuery)
		_, _ = io.Copy(w, r.Body)
	}))
	tests := []struct {
		name, method, path string
		body               []byte
		wantBody           string
	}{
		{"POST with body", http.MethodPost, "/items", []byte("hello"), "POST /items? hello"},
		{"PUT with query", http.MethodPut, "/items/1?dry=1", []byte("x"), "PUT /items/1?dry=1 x"},
		{"empty method means GET", "", "/", nil, "GET /? "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, fast, httpclient.Deps{Resolver: fixed(addr)})
			res, err := c.Do(t.Context(), tt.method, tt.path, tt.body, http.Header{"X-Request-Id": {"abc"}})
			if err != nil {
				t.Fatalf("Do(%q, %q) error = %v", tt.method, tt.path, err)
			}
			if string(res.Body) != tt.wantBody || res.Header.Get("X-Echo") != "abc" {
				t.Errorf("Do(%q, %q) = %q, X-Echo %q, want %q, %q", tt.method, tt.path, res.Body, res.Header.Get("X-Echo"), tt.wantBody, "abc")
			}
		})
	}
}

func TestDoConnectionFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		method            string
		bad               func(testing.TB) string
		badOnly           bool // no good address at all
		wantAttempts      int
		wantInvalidations int64
		wantCause         error
	}{
		// A refused address is skipped while others are left, so no lookup is forced.
		{"refused, retried to the next address", http.MethodGet, closedAddr, false, 2, 0, nil},
		{"hung up, retried to the next address", http.MethodGet, hangupAddr, false, 2, 1, nil},
		{"hung up on a PUT, retried to the next address", http.MethodPut, hangupAddr, false, 2, 1, nil},
		// The first refusal leaves another address; from the second on none is left.
		{"refused by every address", http.MethodGet, closedAddr, true, 3, 2, syscall.ECONNREFUSED},
		// Nothing was sent, so even a POST is retried.
		{"refused POST, retried to the next address", http.MethodPost, closedAddr, false, 2, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addrs := []string{tt.bad(t)}
			if tt.badOnly {
				addrs = append(addrs, tt.bad(t))
			} else {
				good, _ := statusServer(t, 200)
				addrs = append(addrs, good)
			}
			r := &countingResolver{resolve: fixed(addrs...)}
			c := newClient(t, fast, httpclient.Deps{Resolver: r})
			var body []byte
			if tt.method != http.MethodGet {
				body = []byte("payload")
			}

			res, err := c.Do(t.Context(), tt.method, "/", body, nil)
			if got := r.invalidations.Load(); got != tt.wantInvalidations {
				t.Errorf("Do(%s) invalidated %d times, want %d", tt.method, got, tt.wantInvalidations)
			}
			if got := r.resolves.Load(); got != int64(tt.wantAttempts) {
				t.Errorf("Do(%s) resolved %d times, want once per attempt (%d)", tt.method, got, tt.wantAttempts)
			}
			if tt.wantCause == nil {
				if err != nil {
					t.Fatalf("Do(%s) error = %v, want nil", tt.method, err)
				}
				if res.Addr != addrs[1] || res.Attempts != tt.wantAttempts {
					t.Errorf("Do(%s) Addr, Attempts = %s, %d, want %s, %d", tt.method, res.Addr, res.Attempts, addrs[1], tt.wantAttempts)
				}
				return
			}
			var e *httpclient.Error
			if !errors.Is(err, httpclient.ErrUnavailable) || !errors.Is(err, tt.wantCause) || !errors.As(err, &e) {
				t.Fatalf("Do(%s) error = %v, want an *Error matching %v and %v", tt.method, err, httpclient.ErrUnavailable, tt.wantCause)
			}
			wantAddrs := addrs[:min(len(addrs), tt.wantAttempts)]
			want := fmt.Sprintf("call %s /: %d attempt%s via dns %v: unavailable: connection refused",
				tt.method, tt.wantAttempts, map[bool]string{true: "", false: "s"}[tt.wantAttempts == 1], wantAddrs)
			if err.Error() != want {
				t.Errorf("Do(%s) error = %q, want %q", tt.method, err, want)
			}
			if e.Attempts != tt.wantAttempts || e.Source != discovery.SourceDNS || fmt.Sprint(e.Addrs) != fmt.Sprint(wantAddrs) {
				t.Errorf("Do(%s) error Attempts, Source, Addrs = %d, %s, %v, want %d, %s, %v",
					tt.method, e.Attempts, e.Source, e.Addrs, tt.wantAttempts, discovery.SourceDNS, wantAddrs)
			}
		})
	}
}

func TestDoTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		cfg          httpclient.Config
		callerLimit  time.Duration // 0: no caller deadline
		answers      bool          // a second address that answers
		wantErr      error
		minAttempts  int
		wantAttempts int // 0: at least minAttempts
	}{
		{
			name:    "backend never answers",
			cfg:     httpclient.Config{Timeout: 200 * time.Millisecond, AttemptTimeout: 10 * time.Second, MaxAttempts: 3},
			wantErr: httpclient.ErrTimeout, minAttempts: 1, wantAttempts: 1,
		},
		{
			name:    "every attempt times out",
			cfg:     httpclient.Config{Timeout: 400 * time.Millisecond, AttemptTimeout: 50 * time.Millisecond, MaxAttempts: 10, BackoffBase: time.Millisecond},
			wantErr: httpclient.ErrTimeout, minAttempts: 2,
		},
		{
			name:    "last attempt times out with time left",
			cfg:     httpclient.Config{Timeout: 10 * time.Second, AttemptTimeout: 50 * time.Millisecond, MaxAttempts: 2, BackoffBase: time.Millisecond},
			wantErr: httpclient.ErrTimeout, minAttempts: 2, wantAttempts: 2,
		},
		{
			name:        "caller deadline is shorter than Timeout",
			cfg:         httpclient.Config{Timeout: 10 * time.Second, AttemptTimeout: 10 * time.Second},
			callerLimit: 200 * time.Millisecond,
			wantErr:     httpclient.ErrTimeout, minAttempts: 1, wantAttempts: 1,
		},
		{
			name:    "hung attempt is retried to the next address",
			cfg:     httpclient.Config{Timeout: 10 * time.Second, AttemptTimeout: 100 * time.Millisecond, BackoffBase: time.Millisecond},
			answers: true, minAttempts: 2, wantAttempts: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addrs := []string{silentAddr(t)}
			if tt.answers {
				good, _ := statusServer(t, 200)
				addrs = append(addrs, good)
			}
			c := newClient(t, tt.cfg, httpclient.Deps{Resolver: fixed(addrs...)})
			ctx := t.Context()
			limit := tt.cfg.Timeout
			if tt.callerLimit > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerLimit)
				defer cancel()
				limit = tt.callerLimit
			}

			start := time.Now()
			res, err := c.Get(ctx, "/")
			if elapsed := time.Since(start); elapsed > hangGuard*limit {
				t.Errorf("Get took %v, want it bounded by about %v", elapsed, limit)
			}
			attempts := 0
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Get error = %v, want nil", err)
				}
				attempts = res.Attempts
			} else {
				var e *httpclient.Error
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &e) {
					t.Fatalf("Get error = %v, want an *Error matching %v and %v", err, tt.wantErr, context.DeadlineExceeded)
				}
				attempts = e.Attempts
			}
			if attempts < tt.minAttempts || (tt.wantAttempts > 0 && attempts != tt.wantAttempts) {
				t.Errorf("Get took %d attempts, want %d (at least %d)", attempts, tt.wantAttempts, tt.minAttempts)
			}
		})
	}
}

func TestDoResolveFailure(t *testing.T) {
	t.Parallel()
	errLookup := errors.New("lookup backend-service: no such host")
	tests := []struct {
		name         string
		resolver     func(t *testing.T) httpclient.Resolver
		wantCause    error
		wantAttempts int
		wantMsg      string
	}{
		{
			name: "resolver fails",
			resolver: func(*testing.T) httpclient.Resolver {
				return resolverFunc(func(context.Context) (discovery.Endpoint, error) { return discovery.Endpoint{}, errLookup })
			},
			wantCause: errLookup,
			wantMsg:   "call GET /: no endpoint: lookup backend-service: no such host",
		},
		{
			name: "endpoint without addresses",
			resolver: func(*testing.T) httpclient.Resolver {
				return resolverFunc(func(context.Context) (discovery.Endpoint, error) {
					return discovery.Endpoint{Source: discovery.SourceEnv, Name: "BACKEND_SERVICE"}, nil
				})
			},
			wantMsg: "call GET /: no endpoint: resolve BACKEND_SERVICE: no addresses",
		},
		{
			name: "re-resolution after a refused connection fails",
			resolver: func(t *testing.T) httpclient.Resolver {
				bad := fixed(closedAddr(t))
				var calls atomic.Int64
				return resolverFunc(func(ctx context.Context) (discovery.Endpoint, error) {
					if calls.Add(1) == 1 {
						return bad(ctx)
					}
					return discovery.Endpoint{}, errLookup
				})
			},
			wantCause:    errLookup,
			wantAttempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, fast, httpclient.Deps{Resolver: tt.resolver(t)})
			_, err := c.Get(t.Context(), "/")
			var e *httpclient.Error
			if !errors.Is(err, httpclient.ErrNoEndpoint) || !errors.As(err, &e) {
				t.Fatalf("Get error = %v, want an *Error matching %v", err, httpclient.ErrNoEndpoint)
			}
			if tt.wantCause != nil && !errors.Is(err, tt.wantCause) {
				t.Errorf("Get error = %v, want it to wrap %v", err, tt.wantCause)
			}
			if e.Attempts != tt.wantAttempts {
				t.Errorf("Get error Attempts = %d, want %d", e.Attempts, tt.wantAttempts)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("Get error = %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestGetRoundRobin(t *testing.T) {
	t.Parallel()
	const servers, calls = 3, 30
	var addrs []string
	var counts []*atomic.Int64
	for range servers {
		addr, n := statusServer(t, 200)
		addrs, counts = append(addrs, addr), append(counts, n)
	}
	// The order is the point here, not skipping: on a machine starved by a cold -race build
	// a loopback connect can miss the 200ms default, and the address would then be skipped.
	cfg := fast
	cfg.ConnectTimeout = fast.AttemptTimeout
	c := newClient(t, cfg, httpclient.Deps{Resolver: fixed(addrs...)})
	for i := range calls {
		res, err := c.Get(t.Context(), "/")
		if err != nil {
			t.Fatalf("Get #%d error = %v", i, err)
		}
		if want := addrs[i%servers]; res.Addr != want {
			t.Errorf("Get #%d Addr = %s, want %s", i, res.Addr, want)
		}
	}
	for i, n := range counts {
		if got := n.Load(); got != calls/servers {
			t.Errorf("server %d (%s) got %d requests, want %d", i, addrs[i], got, calls/servers)
		}
	}
}

func TestDoTracing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		recording bool // Deps.TracerProvider records spans; otherwise it is nil
	}{
		{"one client span per attempt", true},
		{"nil TracerProvider still propagates the caller's trace", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu           sync.Mutex
				traceparents []string
				n            atomic.Int64
			)
			addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				traceparents = append(traceparents, r.Header.Get("Traceparent"))
				mu.Unlock()
				if n.Add(1) == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			deps := httpclient.Deps{Resolver: fixed(addr)}
			if tt.recording {
				deps.TracerProvider = tp
			}
			c := newClient(t, fast, deps)

			ctx, parent := tp.Tracer("test").Start(t.Context(), "caller")
			res, err := c.Get(ctx, "/trace")
			parent.End()
			if err != nil || res.Attempts != 2 {
				t.Fatalf("Get = %+v, %v, want 2 attempts", res, err)
			}
			traceID := parent.SpanContext().TraceID().String()
			mu.Lock()
			defer mu.Unlock()
			for i, tp := range traceparents {
				if !strings.Contains(tp, traceID) {
					t.Errorf("attempt %d traceparent = %q, want trace id %s", i+1, tp, traceID)
				}
			}
			if !tt.recording {
				return
			}

			var spans []sdktrace.ReadOnlySpan
			for _, s := range rec.Ended() {
				if s.SpanKind() == trace.SpanKindClient {
					spans = append(spans, s)
				}
			}
			if len(spans) != 2 {
				t.Fatalf("recorded %d client spans, want 2 (one per attempt)", len(spans))
			}
			for i, s := range spans {
				attrs := map[attribute.Key]attribute.Value{}
				for _, kv := range s.Attributes() {
					attrs[kv.Key] = kv.Value
				}
				if s.Name() != "GET /trace" {
					t.Errorf("span %d Name = %q, want %q", i+1, s.Name(), "GET /trace")
				}
				if s.Parent().SpanID() != parent.SpanContext().SpanID() {
					t.Errorf("span %d parent = %s, want the caller's span %s", i+1, s.Parent().SpanID(), parent.SpanContext().SpanID())
				}
				if !strings.Contains(traceparents[i], s.SpanContext().SpanID().String()) {
					t.Errorf("attempt %d traceparent = %q, want its own span id %s", i+1, traceparents[i], s.SpanContext().SpanID())
				}
				host, _, _ := net.SplitHostPort(addr)
				for key, want := range map[attribute.Key]string{
					"httpclient.attempt":        fmt.Sprint(i + 1),
					"discovery.source":          "dns",
					"discovery.name":            "backend-service",
					"network.peer.address":      host,
					"server.address":            host,
					"http.response.status_code": fmt.Sprint([]int{503, 200}[i]),
				} {
					if got := attrs[key].String(); got != want {
						t.Errorf("span %d attribute %s = %q, want %q", i+1, key, got, want)
					}
				}
			}
		})
	}
}

func TestDoCallerCancel(t *testing.T) {
	t.Parallel()
	// Long waits: only the caller's cancellation can end these calls quickly.
	slow := httpclient.Config{Timeout: time.Minute, AttemptTimeout: time.Minute, MaxAttempts: 10, BackoffBase: time.Minute, BackoffMax: time.Minute}
	tests := []struct {
		name         string
		backend      func(t *testing.T, cancel context.CancelFunc) string
		before       bool // cancel before the call
		wantAttempts int
	}{
		{
			name: "during the backoff",
			backend: func(t *testing.T, cancel context.CancelFunc) string {
				return startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					defer cancel()
					w.WriteHeader(http.StatusServiceUnavailable)
				}))
			},
			wantAttempts: 1,
		},
		{
			name: "during an attempt",
			backend: func(t *testing.T, cancel context.CancelFunc) string {
				return rawServer(t, func(c net.Conn) {
					_, _ = http.ReadRequest(bufio.NewReader(c))
					cancel()
					_, _ = io.Copy(io.Discard, c)
				})
			},
			wantAttempts: 1,
		},
		{
			name: "before the call",
			backend: func(t *testing.T, cancel context.CancelFunc) string {
				addr, _ := statusServer(t, 200)
				return addr
			},
			before: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			c := newClient(t, slow, httpclient.Deps{Resolver: fixed(tt.backend(t, cancel))})
			if tt.before {
				cancel()
			}
			done := make(chan error, 1)
			var attempts int
			go func() {
				_, err := c.Get(ctx, "/")
				var e *httpclient.Error
				if errors.As(err, &e) {
					attempts = e.Attempts
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) || errors.Is(err, httpclient.ErrTimeout) || errors.Is(err, httpclient.ErrBadGateway) {
					t.Errorf("Get error = %v, want only %v", err, context.Canceled)
				}
				if attempts != tt.wantAttempts {
					t.Errorf("Get error Attempts = %d, want %d", attempts, tt.wantAttempts)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Get did not return after the caller cancelled")
			}
		})
	}
}

func TestDoBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	tests := []struct {
		name          string
		size          int
		contentLength bool
		wantErr       bool
	}{
		{"exactly 1 MiB", limit, false, false},
		{"1 MiB + 1 without Content-Length", limit + 1, false, true},
		{"1 MiB + 1 with Content-Length", limit + 1, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int64
			addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if tt.contentLength {
					w.Header().Set("Content-Length", fmt.Sprint(tt.size))
				}
				_, _ = w.Write(make([]byte, tt.size))
			}))
			c := newClient(t, fast, httpclient.Deps{Resolver: fixed(addr)})
			res, err := c.Get(t.Context(), "/")
			if requests.Load() != 1 {
				t.Errorf("Get made %d requests, want 1 (a large body is not retried)", requests.Load())
			}
			if !tt.wantErr {
				if err != nil || len(res.Body) != tt.size {
					t.Fatalf("Get = %d bytes, %v, want %d bytes", len(res.Body), err, tt.size)
				}
				return
			}
			if !errors.Is(err, httpclient.ErrBadGateway) {
				t.Errorf("Get error = %v, want %v", err, httpclient.ErrBadGateway)
			}
		})
	}
}

func TestDoRejectsRelativePath(t *testing.T) {
	t.Parallel()
	c := newClient(t, fast, httpclient.Deps{Resolver: fixed(closedAddr(t))})
	for _, path := range []string{"", "api", "http://evil.example/"} {
		if _, err := c.Get(t.Context(), path); err == nil {
			t.Errorf("Get(%q) error = nil, want one", path)
		}
	}
}

// TestNoGoroutineLeaks is not parallel: it compares the process's goroutine count, which
// other tests running at the same time would change. Parallel tests only start once it is
// done.
func TestNoGoroutineLeaks(t *testing.T) {
	base := runtime.NumGoroutine()
	scenarios := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"success", func(t *testing.T) {
			addr, _ := statusServer(t, 200)
			_, _ = newClient(t, httpclient.Config{}, httpclient.Deps{Resolver: fixed(addr)}).Get(t.Context(), "/")
		}},
		{"retried statuses", func(t *testing.T) {
			addr, _ := statusServer(t, 503, 502, 200)
			_, _ = newClient(t, fast, httpclient.Deps{Resolver: fixed(addr)}).Get(t.Context(), "/")
		}},
		{"refused", func(t *testing.T) {
			_, _ = newClient(t, fast, httpclient.Deps{Resolver: fixed(closedAddr(t))}).Get(t.Context(), "/")
		}},
		{"timeout", func(t *testing.T) {
			cfg := httpclient.Config{Timeout: 200 * time.Millisecond, AttemptTimeout: 50 * time.Millisecond, BackoffBase: time.Millisecond}
			_, _ = newClient(t, cfg, httpclient.Deps{Resolver: fixed(silentAddr(t), hangupAddr(t))}).Get(t.Context(), "/")
		}},
		{"caller cancel", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			_, _ = newClient(t, fast, httpclient.Deps{Resolver: fixed(silentAddr(t))}).Get(ctx, "/")
		}},
		{"refused address skipped", func(t *testing.T) {
			good, _ := statusServer(t, 200)
			c := newClient(t, fast, httpclient.Deps{Resolver: fixed(closedAddr(t), good)})
			for range 3 {
				_, _ = c.Get(t.Context(), "/")
			}
		}},
		{"connections re-dialled for their age", func(t *testing.T) {
			addr, _ := statusServer(t, 200)
			cfg := fast
			cfg.MaxConnAge = time.Nanosecond
			c := newClient(t, cfg, httpclient.Deps{Resolver: fixed(addr)})
			for range 3 {
				_, _ = c.Get(t.Context(), "/")
			}
		}},
		{"body too large", func(t *testing.T) {
			addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(make([]byte, 2<<20))
			}))
			_, _ = newClient(t, fast, httpclient.Deps{Resolver: fixed(addr)}).Get(t.Context(), "/")
		}},
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				sc.run(t)
			})
		}
	})
	servicetest.WaitGoroutines(t, base)
}

func BenchmarkGet(b *testing.B) {
	addr := startServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	benchGets(b, newClient(b, httpclient.Config{}, httpclient.Deps{Resolver: fixed(addr)}))
}

// benchGets calls GET / on c until the benchmark has measured enough, failing on any error.
func benchGets(b *testing.B, c *httpclient.Client) {
	b.Helper()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Get(ctx, "/")
		if err != nil || res.Status != http.StatusOK {
			b.Fatalf("Get = %+v, %v", res, err)
		}
	}
}
