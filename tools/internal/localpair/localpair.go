// Package localpair runs the pair off-cluster, in one process: backend replicas, a DNS server
// that plays the part of the cluster DNS, and the frontend, all on loopback. `make run`
// (cmd/localpair) and the load harness without -target (cmd/load) both start it.
//
// The frontend takes the DNS path here, as it does in a pod: the loopback DNS server answers
// the SRV query _http._tcp.backend-service with one target per replica (each on its own port,
// like a headless Service lists its pods), so discovery finds all of them and the client
// spreads calls over them. With Config.ClusterIP a loopback proxy plays a ClusterIP Service
// instead (see clusterIP). No query leaves the machine: the frontend's resolver talks only to
// this server.
package localpair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/tlstest"
	backend "github.com/svc2svc/svc2svc/services/backend/app"
	frontend "github.com/svc2svc/svc2svc/services/frontend/app"
)

// startLimit only guards against a hang: a service that does not listen by then is a failure.
const startLimit = 30 * time.Second

// passThrough lists the only variables of the user's environment that reach the services: a
// PORT or DISCOVERY_* set there must not rewire the local pair, but tracing and the log level
// may be chosen.
var passThrough = []string{"LOG_LEVEL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}

// Inherit returns the variables of environ ("K=V", as os.Environ) that the services may take
// from the user's shell, to pass as Config.Environ.
func Inherit(environ []string) []string {
	vars := env.ToMap(environ)
	var out []string
	for _, k := range passThrough {
		if v, ok := vars[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// Config says how to run the pair.
type Config struct {
	// Replicas is the number of backends, named backend-1 and on; 0 means 3.
	Replicas int
	// BackendBasePort is the port of backend-1, the others take the next ones; 0 gives each
	// backend any free port.
	BackendBasePort int
	// BackendAdminBasePort is the admin port (/metrics, and /faults with FAULTS=on) of
	// backend-1, the others take the next ones; 0 gives each any free port.
	BackendAdminBasePort int
	// FrontendPort is the frontend's port; 0 means any free port.
	FrontendPort int
	// Environ is added to every service's environment after the local run's own settings,
	// so it can change them (LOG_LEVEL, CLIENT_MAX_CONN_AGE, ...).
	Environ []string
	// BackendEnviron and FrontendEnviron are added to the backends' and the frontend's
	// environments only, after Environ: TLS_DIR makes a backend serve HTTPS, but would make
	// the frontend's own port HTTPS too, where the frontend needs CLIENT_TLS_DIR instead.
	BackendEnviron, FrontendEnviron []string
	// ClusterIP puts a stand-in for a ClusterIP Service in front of the backends: DNS then
	// gives the frontend one address, a loopback proxy that picks a backend at random for
	// each new connection, as kube-proxy does. Without it DNS lists every backend, as for a
	// headless Service, and the frontend's client balances over them itself.
	ClusterIP bool
	// TLS makes the backends serve HTTPS (TLSOn) and also require the frontend's client
	// certificate (TLSMutual), from certificates Start writes to a temporary directory that
	// Wait removes; the zero value is plain HTTP.
	TLS TLS
	// Stdout receives every service's log lines, from several goroutines at once (as
	// os.Stdout allows); nil discards them.
	Stdout io.Writer
}

// Pair is a running local pair.
type Pair struct {
	// FrontendURL is "http://" + the frontend's address.
	FrontendURL string
	// BackendAddrs are the backends' host:port, backend-1 first.
	BackendAddrs []string
	// BackendAdminAddrs are the backends' admin host:port (/metrics, and /faults with
	// FAULTS=on), backend-1 first.
	BackendAdminAddrs []string
	// DNSAddr is the loopback DNS server's address.
	DNSAddr string
	// ServiceAddr is the ClusterIP stand-in's address with Config.ClusterIP, else empty.
	ServiceAddr string

	dns     *dnstest.Server
	tlsRoot string // the certificates' temporary directory, if any
	cancel  context.CancelCauseFunc
	ctx     context.Context
	wg      sync.WaitGroup
	// service is the ClusterIP stand-in, with Config.ClusterIP.
	service *clusterIP
}

// Start runs the pair until ctx is done and returns once every service listens.
// If a service fails to start, Start stops the others and returns the failure. Call Wait
// after ctx is done to let the services shut down.
func Start(ctx context.Context, cfg Config) (*Pair, error) {
	if cfg.Replicas <= 0 {
		cfg.Replicas = 3
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start loopback dns: %w", err)
	}
	p := &Pair{dns: dns, DNSAddr: dns.Addr()}
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	if err := p.start(cfg); err != nil {
		p.cancel(err)
		_ = p.Wait()
		return nil, err
	}
	return p, nil
}

// TLS says how the frontend calls the backends.
type TLS string

const (
	// TLSOff is plain HTTP.
	TLSOff TLS = ""
	// TLSOn makes the backends serve HTTPS (TLS_DIR) for backend-service; the frontend checks
	// it (CLIENT_TLS_DIR) and presents its client certificate, which nobody asks for.
	TLSOn TLS = "https"
	// TLSMutual is TLSOn with the backends requiring the frontend's certificate and admitting
	// FrontendID only (TLS_CLIENT_AUTH=require, TLS_ALLOWED_CLIENTS).
	TLSMutual TLS = "mtls"
)

// FrontendID is the SPIFFE ID of the frontend's client certificate under TLS.
const FrontendID = "spiffe://cluster.local/ns/local/sa/frontend"

// UnmarshalText reads the TLS setting of make run: "" or 0 is TLSOff, 1 (or https) TLSOn,
// mtls TLSMutual.
func (t *TLS) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "0":
		*t = TLSOff
	case "1", string(TLSOn):
		*t = TLSOn
	case string(TLSMutual):
		*t = TLSMutual
	default:
		return errors.New("want 0 (off), 1 (https) or mtls")
	}
	return nil
}

// TLSEnviron writes the certificates of a pair under mode into dir, which must exist: a
// fresh CA, the backends' certificate for backend-service (Secret dir dir/backend) and the
// frontend's for FrontendID (dir/frontend). It returns the backends' TLS variables (TLS_DIR,
// and under TLSMutual TLS_CLIENT_AUTH=require and TLS_ALLOWED_CLIENTS=FrontendID) and the
// frontend's (CLIENT_TLS_DIR). Start uses it; so can a tool that runs the services as
// processes of their own.
func TLSEnviron(dir string, mode TLS) (backendEnv, frontendEnv []string, err error) {
	if mode != TLSOn && mode != TLSMutual {
		return nil, nil, fmt.Errorf("unknown TLS mode %q", mode)
	}
	ca, err := tlstest.GenerateCA()
	if err != nil {
		return nil, nil, err
	}
	write := func(name string, names ...string) (string, error) {
		leaf, err := ca.Sign(names)
		if err != nil {
			return "", err
		}
		sub := filepath.Join(dir, name)
		if err := os.Mkdir(sub, 0o700); err != nil {
			return "", err
		}
		for file, b := range tlstest.Files(leaf, ca) {
			if err := os.WriteFile(filepath.Join(sub, file), b, 0o600); err != nil {
				return "", err
			}
		}
		return sub, nil
	}
	backendDir, err := write("backend", tlstest.ServiceNames("backend-service", "local")...)
	if err != nil {
		return nil, nil, err
	}
	frontendDir, err := write("frontend", FrontendID)
	if err != nil {
		return nil, nil, err
	}
	backendEnv = []string{"TLS_DIR=" + backendDir}
	if mode == TLSMutual {
		backendEnv = append(backendEnv, "TLS_CLIENT_AUTH=require", "TLS_ALLOWED_CLIENTS="+FrontendID)
	}
	return backendEnv, []string{"CLIENT_TLS_DIR=" + frontendDir}, nil
}

func (p *Pair) start(cfg Config) error {
	hostname, _ := os.Hostname()
	// The local run stops at once: there is no load balancer to drain.
	// ADMIN_PORT=0: several services share the machine; each logs where its /metrics is. The
	// backends take BackendAdminBasePort and on instead, when set, for their /faults.
	common := append([]string{"LISTEN_HOST=127.0.0.1", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAMESPACE=local", "NODE_NAME=" + hostname}, cfg.Environ...)
	backendEnv, frontendEnv := cfg.BackendEnviron, cfg.FrontendEnviron
	if cfg.TLS != TLSOff {
		var err error
		if p.tlsRoot, err = os.MkdirTemp("", "svc2svc-tls-"); err != nil {
			return fmt.Errorf("write the TLS certificates: %w", err)
		}
		b, f, err := TLSEnviron(p.tlsRoot, cfg.TLS)
		if err != nil {
			return fmt.Errorf("write the TLS certificates: %w", err)
		}
		backendEnv, frontendEnv = append(b, backendEnv...), append(f, frontendEnv...)
	}

	var targets []dnstest.SRV
	for i := range cfg.Replicas {
		name := fmt.Sprintf("backend-%d", i+1)
		port, adminPort := 0, 0
		if cfg.BackendBasePort != 0 {
			port = cfg.BackendBasePort + i
		}
		if cfg.BackendAdminBasePort != 0 {
			adminPort = cfg.BackendAdminBasePort + i
		}
		environ := append([]string{"PORT=" + strconv.Itoa(port), "POD_NAME=" + name, "POD_IP=127.0.0.1"}, common...)
		environ = append(environ, "ADMIN_PORT="+strconv.Itoa(adminPort))
		addr, adminAddr, err := p.run(name, backend.Run, append(environ, backendEnv...), cfg.Stdout)
		if err != nil {
			return err
		}
		p.BackendAddrs = append(p.BackendAddrs, addr)
		p.BackendAdminAddrs = append(p.BackendAdminAddrs, adminAddr)
		_, portText, _ := net.SplitHostPort(addr)
		port, _ = strconv.Atoi(portText)
		host := name + ".svc2svc.local"
		p.dns.SetA(host, "127.0.0.1")
		targets = append(targets, dnstest.SRV{Target: host, Port: uint16(port)})
	}
	if cfg.ClusterIP {
		// As the cluster DNS answers for a ClusterIP Service: one target, the Service's own
		// name, at the Service's address.
		svc, err := startClusterIP(p.ctx, p.BackendAddrs)
		if err != nil {
			return fmt.Errorf("start the ClusterIP stand-in: %w", err)
		}
		p.service, p.ServiceAddr = svc, svc.Addr()
		_, portText, _ := net.SplitHostPort(svc.Addr())
		port, _ := strconv.Atoi(portText)
		p.dns.SetA("backend-service.svc2svc.local", "127.0.0.1")
		targets = []dnstest.SRV{{Target: "backend-service.svc2svc.local", Port: uint16(port)}}
	}
	p.dns.SetSRV("_http._tcp.backend-service", targets...)

	addr, _, err := p.run("frontend", frontend.Run, append([]string{
		"PORT=" + strconv.Itoa(cfg.FrontendPort), "POD_NAME=frontend-1", "POD_IP=127.0.0.1",
		"DISCOVERY_DNS_SERVER=" + p.dns.Addr(), "DISCOVERY_PORT_NAME=http",
	}, append(common, frontendEnv...)...), cfg.Stdout)
	if err != nil {
		return err
	}
	p.FrontendURL = "http://" + addr
	return nil
}

// runFunc is a service's Run.
type runFunc func(ctx context.Context, args, environ []string, stdout io.Writer, opts ...service.Option) error

// run starts one service in the background and returns its address and its admin port's once
// it listens (the service.OnListen hook says so, whatever LOG_LEVEL hides); a failure stops
// the pair and names the service.
func (p *Pair) run(name string, runFn runFunc, environ []string, stdout io.Writer) (addr, adminAddr string, err error) {
	listening, adminListening := make(chan string, 1), make(chan string, 1)
	p.wg.Go(func() {
		err := runFn(p.ctx, nil, environ, stdout,
			service.OnAdminListen(func(addr string) { adminListening <- addr }),
			service.OnListen(func(addr string) { listening <- addr }))
		if err != nil {
			p.cancel(fmt.Errorf("%s: %w", name, err))
		}
	})
	select {
	case addr = <-listening:
		// The admin port listens first, so its address is known by now.
		select {
		case adminAddr = <-adminListening:
		default:
		}
		return addr, adminAddr, nil
	case <-p.ctx.Done():
		return "", "", context.Cause(p.ctx) // a service failed (it is named) or the caller gave up
	case <-time.After(startLimit):
		return "", "", fmt.Errorf("%s did not listen within %v", name, startLimit)
	}
}

// Wait waits until every service has stopped, after the context given to Start is done or a
// service failed, and returns the first failure (nil after a plain cancellation).
func (p *Pair) Wait() error {
	<-p.ctx.Done()
	p.wg.Wait()
	if p.service != nil {
		p.service.wait()
	}
	p.dns.Close()
	if p.tlsRoot != "" {
		_ = os.RemoveAll(p.tlsRoot)
	}
	if cause := context.Cause(p.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// Done is closed when the pair starts stopping: its context ended or a service failed.
func (p *Pair) Done() <-chan struct{} { return p.ctx.Done() }
