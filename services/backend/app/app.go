// Package app is the backend service: it reports which pod served a request. It is a package of
// its own, not main, so the frontend's integration test and the local run can start real
// backends in-process through Run.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/svc2svc/svc2svc/pkg/buildinfo"
	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/services/backend/internal/faults"
)

// ServiceName names the service in traces, logs and its answers.
const ServiceName = "backend"

// Config is everything the backend reads from its environment.
type Config struct {
	service.Config
	// The pod's identity comes from the Downward API (see k8s/backend.yaml).
	PodName   string `env:"POD_NAME"`
	PodIP     string `env:"POD_IP"`
	Namespace string `env:"POD_NAMESPACE"`
	NodeName  string `env:"NODE_NAME"`
	// Hostname is what Kubernetes sets to the pod name; it stands in when POD_NAME is not set.
	Hostname string `env:"HOSTNAME"`
	// Faults (FAULTS=on) serves the fault knobs on the admin port; off by default.
	Faults faults.Config
}

// Run serves the backend until ctx is done (see service.Run for the start-up and shutdown
// every service shares). It takes the process's arguments, environment and stdout so tests
// can run many backends side by side; opts are for them too. The backend takes no arguments.
func Run(ctx context.Context, args, environ []string, stdout io.Writer, opts ...service.Option) error {
	if len(args) > 0 {
		return fmt.Errorf("backend takes no arguments, got %q", args)
	}
	return service.Run(ctx, ServiceName, environ, stdout, func(ctx context.Context, p *service.Process, cfg Config) error {
		identity := handleIdentity(identityFrom(cfg), time.Now)
		if !cfg.Faults.Enabled() {
			return p.Serve(ctx, routes(identity))
		}
		in := faults.New(ctx, cfg.Server.WriteTimeout, faults.Deps{Logger: p.Logger, Metrics: p.Metrics})
		p.Logger.Info("fault knobs enabled", slog.String("endpoint", "/faults on the admin port"))
		return p.Serve(ctx, routes(in.Wrap(identity)), service.AdminRoutes(adminRoutes(in)), service.Ready(in.Ready))
	}, opts...)
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
