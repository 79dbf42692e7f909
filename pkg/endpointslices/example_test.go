package endpointslices_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/endpointslices"
)

// Example wires a watcher the way a frontend does: in a pod it watches the backend's
// EndpointSlices and uses DNS until the first list succeeds; outside a cluster it uses DNS
// alone. It needs a cluster, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	dnsCfg := discovery.Config{Service: "backend-service", PortName: "http", TTL: 5 * time.Second}
	var resolver endpointslices.Resolver = discovery.New(dnsCfg, discovery.NewDNSResolver(""), os.LookupEnv)

	api, namespace, err := endpointslices.InCluster(os.LookupEnv, "")
	switch {
	case errors.Is(err, endpointslices.ErrNotInCluster):
		logger.Info("not in a cluster, using dns only")
	case err != nil:
		logger.Warn("endpointslices unavailable, using dns only", slog.String("error", err.Error()))
	default:
		w := endpointslices.New(endpointslices.Config{Service: "backend-service", Namespace: namespace, PortName: "http"}, api, logger)
		go func() { _ = w.Run(ctx) }() // returns when ctx ends, at shutdown
		resolver = endpointslices.WithFallback(w, resolver)
	}
	ep, err := resolver.Resolve(ctx)
	fmt.Println(ep.Source, ep.Addrs, err)
}

// ExampleWithFallback shows the fallback answering while the watcher has not listed yet,
// here because it was never started.
func ExampleWithFallback() {
	env := map[string]string{"BACKEND_SERVICE_SERVICE_HOST": "10.96.0.10", "BACKEND_SERVICE_SERVICE_PORT_HTTP": "80"}
	dns := discovery.New(discovery.Config{Service: "backend-service", PortName: "http", SkipDNS: true}, nil,
		func(key string) (string, bool) { v, ok := env[key]; return v, ok })
	w := endpointslices.New(endpointslices.Config{Service: "backend-service", Namespace: "shop", PortName: "http"}, endpointslices.API{}, nil)

	r := endpointslices.WithFallback(w, dns)
	ep, err := r.Resolve(context.Background())
	fmt.Println(ep.Source, ep.Name, ep.Addrs, err)
	_, err = w.Resolve(context.Background())
	fmt.Println(errors.Is(err, discovery.ErrNotFound), err)
	// Output:
	// env BACKEND_SERVICE [10.96.0.10:80] <nil>
	// true resolve backend-service.shop: service not found: endpointslices not listed yet
}
