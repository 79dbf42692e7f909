// Package httpserver is the HTTP server every service runs: a chi router behind the same
// middleware stack, health endpoints for Kubernetes probes, and a graceful shutdown that
// drains traffic before it stops.
//
// The point is that the production behaviour is written once: timeouts on every connection,
// a trace span and an access log line per request joined by trace_id (the log bounded to
// Config.AccessLogRate lines a second), request ids, JSON errors that never leak a stack, a
// body size limit, and a shutdown sequence that lets the endpoints controller take the pod
// out of rotation before connections close.
package httpserver

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/svc2svc/svc2svc/pkg/tlsdir"
)

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
	// ConnObserver, when set, is told about the connections on the public port and the cap
	// on them (see Config.MaxConns and pkg/metrics.HTTPServer). Nil records nothing.
	ConnObserver ConnObserver
	// TLSObserver, when set, is told about every TLS handshake on the public port and the
	// clients refused under mutual TLS (Config.ClientAuth), by reason (see
	// pkg/metrics.HTTPServer). Nil records nothing.
	TLSObserver TLSObserver
	// TLSFiles, when set, is told when the certificate in TLS_DIR expires and about each
	// reload (see pkg/metrics.TLSFiles). Nil records nothing; reloads are logged either way.
	TLSFiles tlsdir.Observer
	// MetricsHandler, when set, is served at GET /metrics on the admin port
	// (Config.AdminPort), never on the public one, with no span, no access log and no
	// Observer call, since scrapes are not the traffic the metrics describe. Nil serves no
	// /metrics and opens no admin port.
	MetricsHandler http.Handler
	// OnListen, when set, is called by Run with the dialable address ("127.0.0.1:PORT" when
	// listening on every interface) as soon as the server accepts connections. It is how a
	// test or a tool started with PORT=0 learns the port, and how it knows the server listened
	// at all. It must not block.
	OnListen func(addr string)
	// OnAdminListen is OnListen for the admin port: Run calls it with the admin listener's
	// dialable address once it accepts connections. It must not block.
	OnAdminListen func(addr string)
	// AdminRoutes, when set, adds routes to the admin port's router, next to /metrics: for
	// operators' endpoints that no Service may expose. They get no middleware (no access log,
	// no body limit), so a handler that reads a body must bound it. Without MetricsHandler
	// there is no admin port, and AdminRoutes is not served.
	AdminRoutes func(r chi.Router)
	// Ready, when set, is asked by every /readyz once shutdown has not started: false answers
	// 503 {"status":"not ready"}, so the pod leaves the Service's endpoints while it lives on
	// (/healthz stays 200). It is called for every probe, concurrently, and must be quick.
	// Nil is always ready.
	Ready func() bool
}

// Server is an HTTP server for one service; build it with New and start it with Run. It is
// meant to be run once.
type Server struct {
	cfg           Config
	logger        *slog.Logger
	onListen      func(addr string)
	onAdminListen func(addr string)
	observer      Observer
	connObserver  ConnObserver
	tlsObserver   TLSObserver
	tlsFiles      tlsdir.Observer
	ready         func() bool // nil: always ready
	sampler       *logSampler
	handler       http.Handler
	admin         http.Handler // nil: no admin port
	draining      atomic.Bool  // set when shutdown starts; /readyz then answers 503
}

// New builds a server whose router has /healthz, /readyz and whatever routes adds, and, when
// deps has a MetricsHandler, an admin router with /metrics and whatever deps.AdminRoutes adds. routes gets the chi router after the middleware
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
	cfg = cfg.withDefaults()
	if deps.ConnObserver == nil {
		deps.ConnObserver = noConnObserver{}
	}
	if deps.TLSObserver == nil {
		deps.TLSObserver = noTLSObserver{}
	}
	s := &Server{cfg: cfg, logger: deps.Logger, observer: deps.Observer, onListen: deps.OnListen,
		onAdminListen: deps.OnAdminListen, connObserver: deps.ConnObserver, tlsObserver: deps.TLSObserver, tlsFiles: deps.TLSFiles,
		ready: deps.Ready, sampler: newLogSampler(cfg.AccessLogRate, deps.Logger)}

	r := chi.NewRouter()
	r.Use(s.middleware(deps.TracerProvider, deps.Propagator)...)
	// Set before routes runs, so that sub-routers it mounts inherit the JSON answers.
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))
	r.Get(healthzPath, healthz)
	r.Get(readyzPath, s.readyz)
	if deps.MetricsHandler != nil {
		admin := chi.NewRouter()
		admin.NotFound(notFound)
		admin.MethodNotAllowed(methodNotAllowed(admin))
		admin.Method(http.MethodGet, metricsPath, deps.MetricsHandler)
		if cfg.mutualTLS() {
			// Kubelet probes present no client certificate, so under mutual TLS they can
			// reach the probes only here.
			admin.Get(healthzPath, healthz)
			admin.Get(readyzPath, s.readyz)
		}
		if deps.AdminRoutes != nil {
			deps.AdminRoutes(admin)
		}
		s.admin = admin
	}
	if routes != nil {
		routes(r)
	}

	s.handler = limitBody(cfg.MaxBodyBytes, r)
	return s
}

// Handler returns the full stack (middleware, health endpoints and routes) without a
// listener, for httptest and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// AdminHandler returns what the admin port serves (/metrics), without a listener, for
// httptest; nil when deps had no MetricsHandler.
func (s *Server) AdminHandler() http.Handler {
	if s.admin == nil {
		return nil
	}
	return s.admin
}
