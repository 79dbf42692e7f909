// Command localpair runs the pair off-cluster: three backend replicas, a DNS server that plays
// the part of the cluster DNS, and the frontend, all on loopback in one process (see package
// localpair). Ctrl-C stops everything, and then it exits 0. It is what `make run` starts.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/tools/internal/cli"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
)

func main() {
	// No name before the error: config's names each bad variable on a line of its own.
	cli.Main("", func(ctx context.Context) error {
		return run(ctx, os.Environ(), os.Stdout)
	})
}

// settings are the knobs of the local run: they move it off ports that are taken (0 takes any
// free one), TLS (0, 1 or mtls) makes the frontend call the backends over HTTPS or mutual TLS,
// FAULTS (on unless set to off) serves the backends' fault knobs on their admin ports, and
// CLUSTERIP=1 makes backend-service one address that picks a backend per connection, as a
// ClusterIP Service does.
type settings struct {
	FrontendPort         int           `env:"FRONTEND_PORT" envDefault:"8080" min:"0" max:"65535"`
	BackendBasePort      int           `env:"BACKEND_BASE_PORT" envDefault:"8081" min:"0" max:"65533"`
	BackendAdminBasePort int           `env:"BACKEND_ADMIN_BASE_PORT" envDefault:"9091" min:"0" max:"65533"`
	TLS                  localpair.TLS `env:"TLS"`
	Faults               string        `env:"FAULTS" envDefault:"on"`
	ClusterIP            bool          `env:"CLUSTERIP"`
}

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	s, err := config.Parse[settings](environ)
	if err != nil {
		return err
	}
	pair, err := localpair.Start(ctx, localpair.Config{
		Replicas:             3,
		BackendBasePort:      s.BackendBasePort,
		BackendAdminBasePort: s.BackendAdminBasePort,
		FrontendPort:         s.FrontendPort,
		Environ:              localpair.Inherit(environ),
		BackendEnviron:       []string{"FAULTS=" + s.Faults},
		TLS:                  s.TLS,
		ClusterIP:            s.ClusterIP,
		Stdout:               stdout,
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
	frontend := "localhost:" + portOf(strings.TrimPrefix(pair.FrontendURL, "http://"))
	fmt.Fprintf(stdout, "\nsvc2svc is running: frontend http://%s  %s %s  dns %s\n"+
		"try: curl %s   or   curl '%s/api/spread?n=30'   (Ctrl-C stops everything)\n",
		frontend, backends, strings.Join(pair.BackendAddrs, " "), pair.DNSAddr, frontend, frontend)
	admin := "/metrics"
	if s.Faults == "on" {
		admin = "/metrics, /faults"
	}
	fmt.Fprintf(stdout, "backend admin ports (%s): %s\n", admin, strings.Join(pair.BackendAdminAddrs, " "))
	if s.Faults == "on" {
		fmt.Fprintf(stdout, "faults: curl -X PUT %s/faults -d '{\"error\":503}'   (DELETE clears; docs/faults.md)\n", pair.BackendAdminAddrs[0])
	}
	if s.ClusterIP {
		fmt.Fprintf(stdout, "backend-service: a ClusterIP stand-in at %s, a backend at random per connection (see http://%s in a browser)\n",
			pair.ServiceAddr, frontend)
	}
	fmt.Fprintln(stdout)
	return pair.Wait()
}

// portOf is the port of a host:port.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
