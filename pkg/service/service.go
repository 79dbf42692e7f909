// Package service is the start-up and shutdown every service of this project shares, written
// once: parse the configuration (refusing bad values before anything listens), build the JSON
// logger, tracing and a metrics registry, serve HTTP with health probes, /metrics and a
// graceful shutdown, and flush the traces with a fresh deadline once the service has stopped.
//
// A service states only what is its own: its Config (which embeds this package's Config) and
// a main function that gets the parsed Config and a Process, builds its dependencies and
// usually ends with Process.Serve:
//
//	type Config struct {
//		service.Config
//		Greeting string `env:"GREETING" envDefault:"hello"`
//	}
//
//	func Run(ctx context.Context, environ []string, stdout io.Writer, opts ...service.Option) error {
//		return service.Run(ctx, "greeter", environ, stdout, func(ctx context.Context, p *service.Process, cfg Config) error {
//			return p.Serve(ctx, func(r chi.Router) {
//				r.Get("/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, cfg.Greeting) })
//			})
//		}, opts...)
//	}
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/svc2svc/svc2svc/pkg/buildinfo"
	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/logging"
	"github.com/svc2svc/svc2svc/pkg/metrics"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// flushTimeout bounds sending the last spans once the service has stopped.
const flushTimeout = 5 * time.Second

// Config is what every service reads from its environment. A service's own Config embeds it
// (without a prefix), which is also how Run finds it.
type Config struct {
	// Server configures the HTTP server: PORT, the timeouts, DRAIN_DELAY and so on.
	Server httpserver.Config
	// Telemetry configures tracing from the standard OTEL_* variables.
	Telemetry telemetry.Config
	// LogLevel is the least severe level logged.
	LogLevel slog.Level `env:"LOG_LEVEL" envDefault:"info"`
	// MemoryLimit is the container's memory limit in bytes (the manifests pass limits.memory
	// through the Downward API); 0 means unknown. Unless GOMEMLIMIT is set, Run sets Go's soft
	// memory limit to MemoryLimitPercent of it: the GC then works harder before the kernel's
	// OOM killer would, with headroom for what the Go limit does not count (thread stacks
	// outside the heap, the kernel's socket buffers charged to the container).
	MemoryLimit int64 `env:"MEMORY_LIMIT" min:"0"`
	// MemoryLimitPercent is the share of MemoryLimit given to Go as its soft limit.
	MemoryLimitPercent int `env:"MEMORY_LIMIT_PERCENT" envDefault:"85" min:"10" max:"100"`
}

// common is how Run reaches the embedded Config of any service's configuration; being
// unexported, only embedding provides it.
func (c *Config) common() *Config { return c }

// Main is a service's own part: it gets the parsed configuration and the process's shared
// pieces and runs until ctx is done (usually by returning p.Serve) or its one-shot work ends.
type Main[C any] func(ctx context.Context, p *Process, cfg C) error

// Process is what the shared start-up built for a service, handed to its Main.
type Process struct {
	// Logger writes JSON to the process's stdout, with the service's name on every line.
	Logger *slog.Logger
	// Telemetry is the tracer provider and propagator to give to servers and clients.
	Telemetry *telemetry.Telemetry
	// Metrics is the process's one registry (see pkg/metrics for why it is not global),
	// served at /metrics by Serve.
	Metrics *prometheus.Registry
	// Environ is the environment as a map, for the few lookups the configuration does not
	// cover (such as the variables Kubernetes sets for each Service).
	Environ map[string]string
	// Stdout is where the service writes, for output other than logs.
	Stdout io.Writer
	// TLSFiles records the certificate directories' expiry and reloads (tls_* metrics in
	// Metrics): give it to every tlsdir.Dir.Watch of the process.
	TLSFiles *metrics.TLSFiles

	server        httpserver.Config
	onListen      []func(addr string)
	onAdminListen []func(addr string)
}

// Serve runs the HTTP server with routes (plus /healthz and /readyz, and /metrics on the
// admin port) until ctx is done, then shuts down gracefully (see httpserver.Server.Run). A
// cancelled ctx is a clean stop, not an error. opts add admin routes or a readiness check.
func (p *Process) Serve(ctx context.Context, routes func(chi.Router), opts ...ServeOption) error {
	var o serveOptions
	for _, opt := range opts {
		opt(&o)
	}
	observer := metrics.NewHTTPServer(p.Metrics)
	srv := httpserver.New(p.server, httpserver.Deps{
		AdminRoutes:    o.adminRoutes,
		Ready:          o.ready,
		Logger:         p.Logger,
		TracerProvider: p.Telemetry.TracerProvider,
		Propagator:     p.Telemetry.Propagator,
		Observer:       observer,
		ConnObserver:   observer,
		TLSObserver:    observer,
		TLSFiles:       p.TLSFiles,
		MetricsHandler: metrics.Handler(p.Metrics),
		OnListen:       p.listening,
		OnAdminListen:  p.adminListening,
	}, routes)
	if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (p *Process) listening(addr string) {
	for _, f := range p.onListen {
		f(addr)
	}
}

func (p *Process) adminListening(addr string) {
	for _, f := range p.onAdminListen {
		f(addr)
	}
}

// ServeOption adds to what Process.Serve serves.
type ServeOption func(*serveOptions)

type serveOptions struct {
	adminRoutes func(chi.Router)
	ready       func() bool
}

// AdminRoutes serves routes on the admin port (ADMIN_PORT), next to /metrics: endpoints for
// operators that no Service exposes. They get no middleware: see httpserver.Deps.AdminRoutes.
func AdminRoutes(routes func(chi.Router)) ServeOption {
	return func(o *serveOptions) { o.adminRoutes = routes }
}

// Ready makes /readyz answer 503 whenever ready returns false (see httpserver.Deps.Ready).
func Ready(ready func() bool) ServeOption {
	return func(o *serveOptions) { o.ready = ready }
}

// Option changes how Run starts a service; services pass them through from their own Run.
type Option func(*Process)

// OnListen makes Run call f with the server's dialable address ("127.0.0.1:PORT") once it
// accepts connections, which is how a test learns the port of a service started with PORT=0,
// and that it listened at all. f must not block.
func OnListen(f func(addr string)) Option {
	return func(p *Process) { p.onListen = append(p.onListen, f) }
}

// OnAdminListen is OnListen for the admin port, which serves /metrics: a test started with
// ADMIN_PORT=0 learns the port from it. f must not block.
func OnAdminListen(f func(addr string)) Option {
	return func(p *Process) { p.onAdminListen = append(p.onAdminListen, f) }
}

// Run starts the service called name: it parses environ ("KEY=value", as os.Environ) into C,
// builds the logger (on stdout), tracing and the metrics registry, calls main, and after
// main returns flushes the traces with a fresh deadline, since ctx is done by then. Bad
// configuration is returned before anything starts, with every bad variable named.
func Run[C any, PC interface {
	*C
	common() *Config
}](ctx context.Context, name string, environ []string, stdout io.Writer, main Main[C], opts ...Option) error {
	cfg, err := config.Parse[C](environ)
	if err != nil {
		return err
	}
	common := PC(&cfg).common()
	logger := logging.New(stdout, common.LogLevel).With("service", name)
	environMap := env.ToMap(environ)
	if common.MemoryLimit > 0 && environMap["GOMEMLIMIT"] == "" {
		// The runtime has read GOMEMLIMIT itself when it is set; this is the fallback that
		// leaves headroom, which GOMEMLIMIT set to the whole container limit does not.
		limit := common.MemoryLimit / 100 * int64(common.MemoryLimitPercent)
		debug.SetMemoryLimit(limit)
		logger.Info("memory limit set", slog.Int64("gomemlimit_bytes", limit), slog.Int64("container_limit_bytes", common.MemoryLimit))
	}
	tel, err := telemetry.New(ctx, name, buildinfo.Version, common.Telemetry)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		if err := tel.Shutdown(flushCtx); err != nil {
			logger.Error("telemetry flush failed", "error", err)
		}
	}()
	reg := metrics.NewRegistry()
	p := &Process{
		Logger:    logger,
		Telemetry: tel,
		Metrics:   reg,
		Environ:   environMap,
		Stdout:    stdout,
		TLSFiles:  metrics.NewTLSFiles(reg),
		server:    common.Server,
	}
	for _, opt := range opts {
		opt(p)
	}
	return main(ctx, p, cfg)
}
