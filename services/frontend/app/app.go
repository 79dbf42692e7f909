// Package app is the frontend service: it finds the backend through discovery, calls it
// through the shared client and shows what happened. It is a package of its own, not main, so
// tests and the local run can start real frontends in-process through Run.
package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/endpointslices"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/metrics"
	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
)

// ServiceName names the service in traces and logs.
const ServiceName = "frontend"

// Run serves the frontend until ctx is done (see service.Run for the start-up and shutdown
// every service shares). With the argument "call" it calls the backend once instead, prints
// the answer and returns, which is what the Kubernetes client Job runs. opts are for tests
// and tools, such as service.OnListen.
func Run(ctx context.Context, args, environ []string, stdout io.Writer, opts ...service.Option) error {
	oneShot, err := parseArgs(args)
	if err != nil {
		return err
	}
	return service.Run(ctx, ServiceName, environ, stdout, func(ctx context.Context, p *service.Process, cfg Config) error {
		backend, stop, err := newBackend(ctx, cfg, p)
		if err != nil {
			return err
		}
		defer stop()
		if oneShot {
			return callOnce(ctx, backend, p.Telemetry, cfg.CallWait, p.Logger, p.Stdout)
		}
		return p.Serve(ctx, routes(backend, cfg.spreadLimits(), p.Logger))
	}, opts...)
}

// newBackend builds what calls the backend: discovery (with the EndpointSlice watch in that
// mode) behind the shared client, over HTTPS when CLIENT_TLS_DIR is set, and with
// PODS_SERVICE what calls its pods by name, through the same DNS resolver, metrics and TLS. stop ends the
// watches (EndpointSlices, the CA bundle) and returns once they have ended, so nothing
// outlives Run.
func newBackend(ctx context.Context, cfg Config, p *service.Process) (backend *backendCaller, stop func(), err error) {
	watchCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stopAll := func() { cancel(); wg.Wait() }
	defer func() {
		if err != nil {
			stopAll() // the returned stop is nil then
		}
	}()
	tlsCfg, err := clientTLS(cfg, func(d *tlsdir.Dir) { wg.Go(func() { d.Watch(watchCtx, p.Logger, p.TLSFiles) }) })
	if err != nil {
		return nil, nil, err
	}
	lookupEnv := func(key string) (string, bool) { v, ok := p.Environ[key]; return v, ok }
	dns := discovery.NewDNSResolver(cfg.Discovery.DNSServer)
	lookups := discovery.WithObserver(metrics.NewDiscovery(p.Metrics))
	var resolver httpclient.Resolver = discovery.New(cfg.Discovery, dns, lookupEnv, lookups)
	if cfg.DiscoveryMode == modeEndpointSlices {
		watcher, err := newWatcher(cfg.Discovery, lookupEnv, p.Logger, metrics.NewEndpointSlices(p.Metrics))
		if err != nil {
			return nil, nil, err
		}
		wg.Go(func() { _ = watcher.Run(watchCtx) })
		resolver = endpointslices.WithFallback(watcher, resolver)
	}
	deps := httpclient.Deps{
		Resolver:       resolver,
		TracerProvider: p.Telemetry.TracerProvider,
		Propagator:     p.Telemetry.Propagator,
		Observer:       metrics.NewHTTPClient(p.Metrics),
		TLS:            tlsCfg,
	}
	backend = newBackendCaller(httpclient.New(cfg.Client, deps))
	deps.Transport = freshTransport(cfg.Client.ConnectTimeout, tlsCfg)
	backend.fresh = httpclient.New(cfg.Client, deps)
	backend.maxConnAge = cfg.Client.MaxConnAge
	backend.pods = newPodCaller(cfg, dns, lookups, deps)
	return backend, stopAll, nil
}

// freshTransport is the transport of the calls that want a connection of their own
// (/api/spread, the fresh half of /api/live): like httpclient's own, with no proxy and the
// same connect bound, but it keeps no connection after a call.
func freshTransport(connectTimeout time.Duration, tlsCfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DisableKeepAlives = true
	t.DialContext = (&net.Dialer{Timeout: connectTimeout}).DialContext
	if tlsCfg != nil {
		t.TLSClientConfig = tlsCfg
		t.ForceAttemptHTTP2 = false
	}
	return t
}

// clientTLS loads CLIENT_TLS_DIR's CA bundle, when set, into a client configuration that
// checks the backend's certificate for the Service's name (DISCOVERY_SERVICE), whichever
// address discovery found: a ClusterIP, or a pod IP of a headless Service or an EndpointSlice.
// watch is given the directory, to keep the bundle current. Without CLIENT_TLS_DIR it returns
// nil: plain HTTP.
func clientTLS(cfg Config, watch func(*tlsdir.Dir)) (*tls.Config, error) {
	if !cfg.Client.TLS.Enabled() {
		return nil, nil
	}
	dir, err := tlsdir.Load(cfg.Client.TLS)
	if err != nil {
		return nil, fmt.Errorf("CLIENT_TLS_DIR: %w", err)
	}
	tlsCfg, err := dir.ClientConfig(cfg.Discovery.Service)
	if err != nil {
		return nil, fmt.Errorf("CLIENT_TLS_DIR: %w", err)
	}
	watch(dir)
	return tlsCfg, nil
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
