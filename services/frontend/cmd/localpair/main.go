// Command localpair runs the pair off-cluster: three backend replicas, a DNS server that plays
// the part of the cluster DNS, and the frontend, all on loopback in one process. Ctrl-C stops
// everything. It is what `make run` starts.
//
// The frontend takes the DNS path here, as it does in a pod: the loopback DNS server answers
// the SRV query _http._tcp.backend-service with one target per replica (each on its own port,
// like a headless Service lists its pods), so discovery finds all three and the client spreads
// calls over them. No query leaves the machine: the frontend's resolver talks only to this
// server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/localdns"
	backend "github.com/svc2svc/svc2svc/services/backend/app"
	frontend "github.com/svc2svc/svc2svc/services/frontend/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Environ(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// settings are the knobs of the local run: they move it off ports that are taken.
type settings struct {
	FrontendPort    int `env:"FRONTEND_PORT" envDefault:"8080" min:"1" max:"65535"`
	BackendBasePort int `env:"BACKEND_BASE_PORT" envDefault:"8081" min:"1" max:"65533"`
}

// passThrough lists the only variables of the user's shell that reach the services: a PORT or
// DISCOVERY_* set there must not rewire the local pair, but tracing and log level may be chosen.
var passThrough = []string{"LOG_LEVEL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	s, err := config.Parse[settings](environ)
	if err != nil {
		return err
	}
	backendPorts := []int{s.BackendBasePort, s.BackendBasePort + 1, s.BackendBasePort + 2}
	vars := env.ToMap(environ)
	var inherited []string
	for _, k := range passThrough {
		if v, ok := vars[k]; ok {
			inherited = append(inherited, k+"="+v)
		}
	}
	dns, err := localdns.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start loopback dns: %w", err)
	}
	defer dns.Close()

	var targets []localdns.SRV
	for i, port := range backendPorts {
		host := fmt.Sprintf("backend-%d.svc2svc.local", i+1)
		dns.SetA(host, "127.0.0.1")
		targets = append(targets, localdns.SRV{Target: host, Port: uint16(port)})
	}
	dns.SetSRV("_http._tcp.backend-service", targets...)

	hostname, _ := os.Hostname()
	// The local run stops at once on Ctrl-C: there is no load balancer to drain.
	common := append([]string{"DRAIN_DELAY=0s", "POD_NAMESPACE=local", "NODE_NAME=" + hostname}, inherited...)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	start := func(name string, runFn func(context.Context, []string, []string, io.Writer) error, env []string) {
		wg.Go(func() {
			if err := runFn(ctx, nil, env, stdout); err != nil {
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	for i, port := range backendPorts {
		name := fmt.Sprintf("backend-%d", i+1)
		start(name, backend.Run, append([]string{
			"PORT=" + strconv.Itoa(port), "POD_NAME=" + name, "POD_IP=127.0.0.1",
		}, common...))
	}
	start("frontend", frontend.Run, append([]string{
		"PORT=" + strconv.Itoa(s.FrontendPort), "POD_NAME=frontend-1", "POD_IP=127.0.0.1",
		"DISCOVERY_DNS_SERVER=" + dns.Addr(), "DISCOVERY_PORT_NAME=http",
	}, common...))

	if err := waitHealthy(ctx, append([]int{s.FrontendPort}, backendPorts...)); err == nil {
		fmt.Fprintf(stdout, "\nsvc2svc is running: frontend http://localhost:%d  backends 127.0.0.1:%d-%d  dns %s\n"+
			"try: curl localhost:%d   or   curl 'localhost:%d/api/spread?n=30'   (Ctrl-C stops everything)\n\n",
			s.FrontendPort, backendPorts[0], backendPorts[2], dns.Addr(), s.FrontendPort, s.FrontendPort)
	}
	<-ctx.Done()
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// waitHealthy polls each /healthz so the URL is printed only once everything answers.
func waitHealthy(ctx context.Context, ports []int) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	for _, port := range ports {
		url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/healthz"
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			res, err := client.Do(req)
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}
