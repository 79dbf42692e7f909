// Package app is the frontend service: it finds the backend through discovery, calls it
// through the shared client and shows what happened. It is a package of its own, not main, so
// tests and the local run can start real frontends in-process through Run.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/svc2svc/svc2svc/pkg/buildinfo"
	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/endpointslices"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/logging"
	"github.com/svc2svc/svc2svc/pkg/metrics"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// ServiceName names the service in traces and logs.
const ServiceName = "frontend"

// Config is everything the frontend reads from its environment.
type Config struct {
	Server    httpserver.Config
	Telemetry telemetry.Config
	Discovery discovery.Config `envPrefix:"DISCOVERY_"`
	// DiscoveryMode says where the backend's addresses come from: "dns" (DNS, then the
	// Kubernetes environment variables) or "endpointslices" (a watch of the Service's
	// EndpointSlices through the Kubernetes API, which sees a new or a terminating pod within
	// about a second; DNS answers until the first list succeeds). The watch needs a service
	// account allowed to get, list and watch endpointslices (k8s/endpointslices/).
	DiscoveryMode string            `env:"DISCOVERY_MODE" envDefault:"dns"`
	Client        httpclient.Config `envPrefix:"CLIENT_"`
	LogLevel      slog.Level        `env:"LOG_LEVEL" envDefault:"info"`
	// SpreadTimeout bounds a whole /api/spread request; it must end before the server's
	// WriteTimeout cuts the response off.
	SpreadTimeout time.Duration `env:"SPREAD_TIMEOUT" envDefault:"10s" min:"1ms"`
	// CallWait bounds how long the one-shot mode ("frontend call") keeps retrying while no
	// backend accepts its connection or none can be found. A NetworkPolicy enforcer programs
	// a new pod's rules a few seconds after it starts, so a Job's first connects are refused;
	// curl --retry-connrefused exists for the same reason. 0 makes one call only.
	CallWait time.Duration `env:"CALL_WAIT" envDefault:"30s" max:"10m"`
}

// The values of DISCOVERY_MODE.
const (
	modeDNS            = "dns"
	modeEndpointSlices = "endpointslices"
)

// Validate checks the rules that span packages (each package checks its own) and
// DISCOVERY_MODE. /api/spread and every backend call must end before the server's
// WriteTimeout cuts the response off, or a hung backend gets the browser an empty reply
// instead of a 504.
func (c *Config) Validate(r *config.Rules) {
	if c.SpreadTimeout >= c.Server.WriteTimeout {
		r.Fail(&c.SpreadTimeout, "must be shorter than %s, got %v", &c.Server.WriteTimeout, c.SpreadTimeout)
	}
	if c.Client.Timeout >= c.Server.WriteTimeout {
		r.Fail(&c.Client.Timeout, "must be shorter than %s, got %v", &c.Server.WriteTimeout, c.Client.Timeout)
	}
	if c.DiscoveryMode != modeDNS && c.DiscoveryMode != modeEndpointSlices {
		r.Fail(&c.DiscoveryMode, "must be %q or %q, got %q", modeDNS, modeEndpointSlices, c.DiscoveryMode)
	}
}

// Run parses the environment and serves until ctx is done, then shuts down gracefully and
// flushes telemetry. With the argument "call" it calls the backend once, prints the answer and
// returns, which is what the Kubernetes client Job runs.
func Run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	oneShot, err := parseArgs(args)
	if err != nil {
		return err
	}
	cfg, err := config.Parse[Config](environ)
	if err != nil {
		return err
	}
	logger := logging.New(stdout, cfg.LogLevel).With("service", ServiceName)
	tel, err := telemetry.New(ctx, ServiceName, buildinfo.Version, cfg.Telemetry)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() {
		// ctx is already cancelled here: flushing needs a fresh deadline of its own.
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(flushCtx); err != nil {
			logger.Error("telemetry flush failed", "error", err)
		}
	}()

	// One registry per process, injected: see pkg/metrics for why there is no global one.
	reg := metrics.NewRegistry()
	vars := env.ToMap(environ)
	lookupEnv := func(key string) (string, bool) { v, ok := vars[key]; return v, ok }
	var resolver httpclient.Resolver = discovery.New(cfg.Discovery, discovery.NewDNSResolver(cfg.Discovery.DNSServer),
		lookupEnv, discovery.WithObserver(metrics.NewDiscovery(reg)))
	if cfg.DiscoveryMode == modeEndpointSlices {
		watcher, err := newWatcher(cfg.Discovery, lookupEnv, logger, metrics.NewEndpointSlices(reg))
		if err != nil {
			return err
		}
		// The watch ends with ctx; Run waits for it, so nothing outlives Run.
		watchCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer stop()
		wg.Go(func() { _ = watcher.Run(watchCtx) })
		resolver = endpointslices.WithFallback(watcher, resolver)
	}
	client := httpclient.New(cfg.Client, httpclient.Deps{
		Resolver:       resolver,
		TracerProvider: tel.TracerProvider,
		Propagator:     tel.Propagator,
		Observer:       metrics.NewHTTPClient(reg),
	})
	backend := newBackendCaller(client)

	if oneShot {
		return callOnce(ctx, backend, tel, cfg.CallWait, logger, stdout)
	}
	srv := httpserver.New(cfg.Server, httpserver.Deps{
		Logger:         logger,
		TracerProvider: tel.TracerProvider,
		Propagator:     tel.Propagator,
		Observer:       metrics.NewHTTPServer(reg),
		MetricsHandler: metrics.Handler(reg),
	}, routes(backend, cfg.SpreadTimeout, logger))
	if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// newWatcher sets up the EndpointSlice watch of the backend's Service, in the pod's namespace
// unless DISCOVERY_NAMESPACE names another. Outside a pod, or in a pod without a service
// account token, it fails, so the process stops before it listens rather than run on DNS
// alone while claiming to watch.
func newWatcher(cfg discovery.Config, lookupEnv discovery.LookupEnv, logger *slog.Logger, obs endpointslices.Observer) (*endpointslices.Watcher, error) {
	api, namespace, err := endpointslices.InCluster(lookupEnv, "")
	if err != nil {
		return nil, fmt.Errorf("DISCOVERY_MODE=%s: %w", modeEndpointSlices, err)
	}
	if cfg.Namespace != "" {
		namespace = cfg.Namespace
	}
	return endpointslices.New(endpointslices.Config{Service: cfg.Service, Namespace: namespace, PortName: cfg.PortName},
		api, logger, endpointslices.WithObserver(obs)), nil
}

// parseArgs reports whether the frontend runs once ("call") instead of serving.
func parseArgs(args []string) (oneShot bool, err error) {
	switch {
	case len(args) == 0:
		return false, nil
	case len(args) == 1 && args[0] == "call":
		return true, nil
	default:
		return false, fmt.Errorf("usage: frontend [call], got %q", args)
	}
}
