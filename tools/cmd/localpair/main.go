// Command localpair runs the pair off-cluster: three backend replicas, a DNS server that plays
// the part of the cluster DNS, and the frontend, all on loopback in one process (see package
// localpair). Ctrl-C stops everything. It is what `make run` starts.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Environ(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// settings are the knobs of the local run: they move it off ports that are taken, and TLS
// (0, 1 or mtls) makes the frontend call the backends over HTTPS or mutual TLS.
type settings struct {
	FrontendPort    int           `env:"FRONTEND_PORT" envDefault:"8080" min:"1" max:"65535"`
	BackendBasePort int           `env:"BACKEND_BASE_PORT" envDefault:"8081" min:"1" max:"65533"`
	TLS             localpair.TLS `env:"TLS"`
}

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	s, err := config.Parse[settings](environ)
	if err != nil {
		return err
	}
	pair, err := localpair.Start(ctx, localpair.Config{
		Replicas:        3,
		BackendBasePort: s.BackendBasePort,
		FrontendPort:    s.FrontendPort,
		Environ:         localpair.Inherit(environ),
		TLS:             s.TLS,
		Stdout:          stdout,
	})
	if err != nil {
		return err
	}
	backends := "backends"
	switch s.TLS {
	case localpair.TLSOn:
		backends = "HTTPS backends"
	case localpair.TLSMutual:
		backends = "mutual TLS backends"
	}
	fmt.Fprintf(stdout, "\nsvc2svc is running: frontend http://localhost:%d  %s 127.0.0.1:%d-%d  dns %s\n"+
		"try: curl localhost:%d   or   curl 'localhost:%d/api/spread?n=30'   (Ctrl-C stops everything)\n\n",
		s.FrontendPort, backends, s.BackendBasePort, s.BackendBasePort+2, pair.DNSAddr, s.FrontendPort, s.FrontendPort)
	return pair.Wait()
}
