// Package httpserver is the HTTP server every service runs: a chi router behind the same
// middleware stack, health endpoints for Kubernetes probes, and a graceful shutdown that
// drains traffic before it stops.
//
// The point is that the production behaviour is written once: timeouts on every connection,
// a trace span and an access log line per request joined by trace_id, request ids, JSON
// errors that never leak a stack, a body size limit, and a shutdown sequence that lets the
// endpoints controller take the pod out of rotation before connections close.
package httpserver

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Config holds the server's knobs. Services embed it without a prefix, so its variables are
// PORT, READ_HEADER_TIMEOUT and so on.
type Config struct {
	// Host is the address to listen on; empty means every interface, as a pod needs. Tests
	// set 127.0.0.1 to stay on loopback. Not "HOST": zsh and others set that to the
	// machine's name.
	Host string `env:"LISTEN_HOST"`
	// Port is the TCP port; 0 picks a free one (the "server listening" log line says which).
	Port int `env:"PORT" envDefault:"8080" min:"0" max:"65535"`
	// ReadHeaderTimeout bounds reading the request line and headers, so a client that opens
	// connections and sends nothing (slowloris) cannot tie up the server.
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"5s"`
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout time.Duration `env:"READ_TIMEOUT" envDefault:"10s"`
	// WriteTimeout bounds a request from the end of its headers to the end of the response;
	// handlers must finish well within it.
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT" envDefault:"15s"`
	// IdleTimeout closes keep-alive connections that carry no request for that long.
	IdleTimeout time.Duration `env:"IDLE_TIMEOUT" envDefault:"60s"`
	// MaxHeaderBytes caps the request headers; larger ones get 431.
	MaxHeaderBytes int `env:"MAX_HEADER_BYTES" envDefault:"65536" min:"0"`
	// MaxBodyBytes caps every request body; reading past it fails with *http.MaxBytesError,
	// which handlers answer with 413. 0 means no limit.
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES" envDefault:"1048576" min:"0"`
	// DrainDelay is how long the server keeps serving after shutdown starts, with /readyz
	// answering 503, so that Kubernetes stops routing to the pod before connections close.
	DrainDelay time.Duration `env:"DRAIN_DELAY" envDefault:"5s"`
	// ShutdownTimeout bounds waiting for in-flight requests once the drain delay is over.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
}

// Deps are the server's collaborators, injected so tests can watch logs and spans. Nil
// fields get harmless defaults: a discarding logger, a no-op tracer provider, and the W3C
// trace context and baggage propagator.
type Deps struct {
	// Logger receives the access log, recovered panics and the lifecycle messages.
	Logger *slog.Logger
	// TracerProvider creates a server span per request.
	TracerProvider trace.TracerProvider
	// Propagator extracts the caller's trace context from the request headers.
	Propagator propagation.TextMapPropagator
	// Observer, when set, is told about every request but the probes and /metrics, to
	// record request metrics (see pkg/metrics.HTTPServer). Nil records nothing.
	Observer Observer
	// MetricsHandler, when set, is served at GET /metrics (typically pkg/metrics.Handler),
	// with no span, a debug-level access log line and no Observer call, since scrapes are
	// not the traffic the metrics describe. Nil serves no /metrics.
	MetricsHandler http.Handler
}

// Server is an HTTP server for one service; build it with New and start it with Run. It is
// meant to be run once.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	observer Observer
	handler  http.Handler
	draining atomic.Bool // set when shutdown starts; /readyz then answers 503
}

// New builds a server whose router has /healthz, /readyz, /metrics (when deps has a
// MetricsHandler) and whatever routes adds. routes gets the chi router after the middleware
// is installed, so it may add routes, groups and sub-routers but not router-wide middleware.
func New(cfg Config, deps Deps, routes func(r chi.Router)) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.TracerProvider == nil {
		deps.TracerProvider = tracenoop.NewTracerProvider()
	}
	if deps.Propagator == nil {
		deps.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	s := &Server{cfg: cfg, logger: deps.Logger, observer: deps.Observer}

	r := chi.NewRouter()
	r.Use(nameSpan, middleware.RequestID, echoRequestID, s.accessLog, s.recoverer)
	// Set before routes runs, so that sub-routers it mounts inherit the JSON answers.
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))
	r.Get(healthzPath, healthz)
	r.Get(readyzPath, s.readyz)
	if deps.MetricsHandler != nil {
		r.Method(http.MethodGet, metricsPath, deps.MetricsHandler)
	}
	if routes != nil {
		routes(r)
	}

	traced := otelhttp.NewHandler(r, "http.server",
		otelhttp.WithTracerProvider(deps.TracerProvider),
		otelhttp.WithPropagators(deps.Propagator),
		// Metrics are not collected; the no-op provider keeps otelhttp off the global one.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r.URL.Path) }),
	)
	s.handler = limitBody(cfg.MaxBodyBytes, traced)
	return s
}

// Handler returns the full stack (middleware, health endpoints and routes) without a
// listener, for httptest and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }
