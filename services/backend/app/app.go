// Package app is the backend service: it reports which pod served a request. It is a package of
// its own, not main, so the frontend's integration test and the local run can start real
// backends in-process through Run.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/svc2svc/svc2svc/pkg/buildinfo"
	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/logging"
	"github.com/svc2svc/svc2svc/pkg/metrics"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// ServiceName names the service in traces, logs and its answers.
const ServiceName = "backend"

// Config is everything the backend reads from its environment.
type Config struct {
	Server    httpserver.Config
	Telemetry telemetry.Config
	LogLevel  slog.Level `env:"LOG_LEVEL" envDefault:"info"`
	// The pod's identity comes from the Downward API (see k8s/backend.yaml).
	PodName   string `env:"POD_NAME"`
	PodIP     string `env:"POD_IP"`
	Namespace string `env:"POD_NAMESPACE"`
	NodeName  string `env:"NODE_NAME"`
	// Hostname is what Kubernetes sets to the pod name; it stands in when POD_NAME is not set.
	Hostname string `env:"HOSTNAME"`
}

// Run parses the environment, serves until ctx is done, then shuts down gracefully and flushes
// telemetry. It takes the process's arguments, environment and stdout so tests can run many
// backends side by side. The backend takes no arguments.
func Run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("backend takes no arguments, got %q", args)
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

	id := identityFrom(cfg)
	// One registry per process, injected: see pkg/metrics for why there is no global one.
	reg := metrics.NewRegistry()
	srv := httpserver.New(cfg.Server, httpserver.Deps{
		Logger:         logger,
		TracerProvider: tel.TracerProvider,
		Propagator:     tel.Propagator,
		Observer:       metrics.NewHTTPServer(reg),
		MetricsHandler: metrics.Handler(reg),
	}, routes(id, time.Now))
	if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// identityFrom fills in what the Downward API did not provide, so the backend always says who
// it is, on a cluster or off it.
func identityFrom(cfg Config) Identity {
	id := Identity{
		Service:   ServiceName,
		Pod:       cfg.PodName,
		PodIP:     cfg.PodIP,
		Namespace: cfg.Namespace,
		Node:      cfg.NodeName,
		Version:   buildinfo.Version,
	}
	if id.Pod == "" {
		id.Pod = cfg.Hostname
	}
	if id.Pod == "" {
		id.Pod, _ = os.Hostname()
	}
	return id
}
