package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

// Every test resolves through its own loopback server (or skips DNS): no query may leave
// the machine, and per-test servers make Queries() exact under t.Parallel.
func startDNS(t *testing.T) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("dnstest.Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mapEnv is the environment of one test.
func mapEnv(vars map[string]string) discovery.LookupEnv {
	return func(key string) (string, bool) {
		v, ok := vars[key]
		return v, ok
	}
}

// newResolver returns a Resolver for cfg (Service defaulting to backend-service) that
// queries only s.
func newResolver(cfg discovery.Config, s *dnstest.Server, env map[string]string) *discovery.Resolver {
	if cfg.Service == "" {
		cfg.Service = "backend-service"
	}
	return discovery.New(cfg, discovery.NewDNSResolver(s.Addr()), mapEnv(env))
}

func resolve(t *testing.T, r *discovery.Resolver) (discovery.Endpoint, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Resolve(ctx)
}

// resolveWith resolves once through a DNS server of the test's own that setup (if any)
// has published records on, with env as the environment; it returns the server too, so the
// test can count the queries it got.
func resolveWith(t *testing.T, cfg discovery.Config, setup func(*dnstest.Server), env map[string]string) (*dnstest.Server, discovery.Endpoint, error) {
	t.Helper()
	s := startDNS(t)
	if setup != nil {
		setup(s)
	}
	got, err := resolve(t, newResolver(cfg, s, env))
	return s, got, err
}

// threeReplicas publishes backend-service the way the local run does.
func threeReplicas(s *dnstest.Server) {
	s.SetA("backend-1.test.local", "127.0.0.1")
	s.SetA("backend-2.test.local", "127.0.0.1")
	s.SetA("backend-3.test.local", "127.0.0.1", "127.0.0.2")
	s.SetSRV("_http._tcp.backend-service",
		dnstest.SRV{Target: "backend-1.test.local", Port: 8081},
		dnstest.SRV{Target: "backend-2.test.local", Port: 8082},
		dnstest.SRV{Target: "backend-3.test.local", Port: 8083})
}

// k8sEnv is what the kubelet injects for backend-service with a port named http.
var k8sEnv = map[string]string{
	"BACKEND_SERVICE_SERVICE_HOST":      "10.96.0.10",
	"BACKEND_SERVICE_SERVICE_PORT":      "80",
	"BACKEND_SERVICE_SERVICE_PORT_HTTP": "80",
	"BACKEND_SERVICE_PORT":              "tcp://10.96.0.10:80",
}

func TestResolve(t *testing.T) {
	t.Parallel()
	envEndpoint := discovery.Endpoint{Source: discovery.SourceEnv, Name: "BACKEND_SERVICE", Addrs: []string{"10.96.0.10:80"}}
	tests := []struct {
		name  string
		cfg   discovery.Config
		setup func(s *dnstest.Server)
		env   map[string]string
		want  discovery.Endpoint
	}{
		{
			name:  "A records with the default port",
			setup: func(s *dnstest.Server) { s.SetA("backend-service", "10.0.0.1", "10.0.0.2") },
			want:  discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{"10.0.0.1:80", "10.0.0.2:80"}},
		},
		{
			name:  "A record with a configured port",
			cfg:   discovery.Config{DefaultPort: 8080},
			setup: func(s *dnstest.Server) { s.SetA("backend-service", "10.0.0.1") },
			want:  discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{"10.0.0.1:8080"}},
		},
		{
			name:  "AAAA record",
			setup: func(s *dnstest.Server) { s.SetA("backend-service", "fd00::1") },
			want:  discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{"[fd00::1]:80"}},
		},
		{
			name:  "SRV with targets on different ports",
			cfg:   discovery.Config{PortName: "http"},
			setup: threeReplicas,
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service",
				Addrs: []string{"127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083", "127.0.0.2:8083"}},
		},
		{
			name: "SRV duplicates and unresolvable targets dropped",
			cfg:  discovery.Config{PortName: "http"},
			setup: func(s *dnstest.Server) {
				s.SetA("pod-a.test", "10.1.0.1")
				s.SetSRV("_http._tcp.backend-service",
					dnstest.SRV{Target: "pod-a.test", Port: 8080},
					dnstest.SRV{Target: "gone.test", Port: 8080},
					dnstest.SRV{Target: "POD-A.test", Port: 8080})
			},
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{"10.1.0.1:8080"}},
		},
		{
			name:  "no SRV record falls back to A with the default port",
			cfg:   discovery.Config{PortName: "http"},
			setup: func(s *dnstest.Server) { s.SetA("backend-service", "10.0.0.1") },
			want:  discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{"10.0.0.1:80"}},
		},
		{
			name: "SRV whose targets do not resolve falls back to A",
			cfg:  discovery.Config{PortName: "http"},
			setup: func(s *dnstest.Server) {
				s.SetSRV("_http._tcp.backend-service", dnstest.SRV{Target: "gone.test", Port: 8080})
				s.SetA("backend-service", "10.0.0.1")
			},
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{"10.0.0.1:80"}},
		},
		{
			name: "SRV answer too big for UDP is fetched over TCP",
			cfg:  discovery.Config{PortName: "http"},
			setup: func(s *dnstest.Server) {
				var targets []dnstest.SRV
				for i := range 40 {
					host := fmt.Sprintf("replica-with-a-rather-long-name-%02d.backend.test.local", i)
					s.SetA(host, "10.2.0.1")
					targets = append(targets, dnstest.SRV{Target: host, Port: uint16(9000 + i)})
				}
				s.SetSRV("_http._tcp.backend-service", targets...)
			},
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: func() []string {
				var addrs []string
				for i := range 40 {
					addrs = append(addrs, fmt.Sprintf("10.2.0.1:%d", 9000+i))
				}
				return addrs
			}()},
		},
		{
			name: "namespace queries the FQDN",
			cfg:  discovery.Config{Namespace: "prod"},
			setup: func(s *dnstest.Server) {
				s.SetA("backend-service", "10.9.9.9") // the short name must not be asked
				s.SetA("backend-service.prod.svc.cluster.local.", "10.0.0.7")
			},
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service.prod.svc.cluster.local.", Addrs: []string{"10.0.0.7:80"}},
		},
		{
			name: "namespace, cluster domain and SRV",
			cfg:  discovery.Config{Namespace: "prod", ClusterDomain: "corp.example.", PortName: "http"},
			setup: func(s *dnstest.Server) {
				s.SetA("pod-1.test", "10.1.0.1")
				s.SetSRV("_http._tcp.backend-service.prod.svc.corp.example", dnstest.SRV{Target: "pod-1.test", Port: 8080})
			},
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service.prod.svc.corp.example.", Addrs: []string{"10.1.0.1:8080"}},
		},
		{
			name: "NXDOMAIN falls back to env",
			env:  k8sEnv,
			want: envEndpoint,
		},
		{
			name:  "SERVFAIL falls back to env",
			setup: func(s *dnstest.Server) { s.SetA("backend-service", "10.0.0.1"); s.SetMode(dnstest.ModeServFail) },
			env:   k8sEnv,
			want:  envEndpoint,
		},
		{
			name:  "server that never answers falls back to env",
			cfg:   discovery.Config{LookupTimeout: 100 * time.Millisecond, PortName: "http"},
			setup: func(s *dnstest.Server) { threeReplicas(s); s.SetMode(dnstest.ModeNoAnswer) },
			env:   k8sEnv,
			want:  envEndpoint,
		},
		{
			name:  "empty answer falls back to env",
			setup: func(s *dnstest.Server) { s.SetA("backend-service") },
			env:   k8sEnv,
			want:  envEndpoint,
		},
		{
			name:  "SkipDNS reads env even when DNS knows the name",
			cfg:   discovery.Config{SkipDNS: true},
			setup: func(s *dnstest.Server) { s.SetA("backend-service", "10.0.0.1") },
			env:   k8sEnv,
			want:  envEndpoint,
		},
		{
			name: "port name selects the named port variable",
			cfg:  discovery.Config{SkipDNS: true, PortName: "http"},
			env: map[string]string{
				"BACKEND_SERVICE_SERVICE_HOST": "10.96.0.10", "BACKEND_SERVICE_SERVICE_PORT": "1",
				"BACKEND_SERVICE_SERVICE_PORT_HTTP": "8080",
			},
			want: discovery.Endpoint{Source: discovery.SourceEnv, Name: "BACKEND_SERVICE", Addrs: []string{"10.96.0.10:8080"}},
		},
		{
			name: "env IPv6 host and hostname",
			cfg:  discovery.Config{SkipDNS: true, Service: "db"},
			env:  map[string]string{"DB_SERVICE_HOST": "fd00::10", "DB_SERVICE_PORT": "5432"},
			want: discovery.Endpoint{Source: discovery.SourceEnv, Name: "DB", Addrs: []string{"[fd00::10]:5432"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, got, err := resolveWith(t, tt.cfg, tt.setup, tt.env)
			if err != nil || got.Source != tt.want.Source || got.Name != tt.want.Name || !slices.Equal(got.Addrs, tt.want.Addrs) {
				t.Errorf("Resolve() = %+v, %v; want %+v", got, err, tt.want)
			}
			if tt.cfg.SkipDNS && s.Queries() != 0 {
				t.Errorf("Resolve() with SkipDNS sent %d DNS queries, want 0", s.Queries())
			}
		})
	}
}

// TestResolveFQDNQueriesOnce proves the trailing dot: the name is asked as is, once per
// address family, whatever search list the host running the test has.
func TestResolveFQDNQueriesOnce(t *testing.T) {
	t.Parallel()
	s := startDNS(t)
	s.SetA("backend-service.prod.svc.cluster.local", "10.0.0.7")
	if _, err := resolve(t, newResolver(discovery.Config{Namespace: "prod"}, s, nil)); err != nil {
		t.Fatalf("Resolve() = %v, want nil", err)
	}
	if got := s.Queries(); got != 2 {
		t.Errorf("Resolve() sent %d queries, want 2 (A and AAAA for the FQDN only)", got)
	}
}

func TestResolveNotFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   discovery.Config
		setup func(s *dnstest.Server)
		env   map[string]string
		want  []string // parts of the message
	}{
		{
			name: "NXDOMAIN and no env",
			want: []string{"resolve backend-service: service not found", "dns: lookup backend-service", "no such host",
				"env: BACKEND_SERVICE_SERVICE_HOST not set, BACKEND_SERVICE_SERVICE_PORT not set"},
		},
		{
			name:  "SRV and A both fail",
			cfg:   discovery.Config{PortName: "http"},
			setup: func(s *dnstest.Server) { s.SetMode(dnstest.ModeServFail) },
			want:  []string{"lookup _http._tcp.backend-service", "lookup backend-service", "BACKEND_SERVICE_SERVICE_PORT_HTTP not set"},
		},
		{
			name: "timeout and no env",
			cfg:  discovery.Config{LookupTimeout: 100 * time.Millisecond},
			setup: func(s *dnstest.Server) {
				s.SetA("backend-service", "10.0.0.1")
				s.SetMode(dnstest.ModeNoAnswer)
			},
			want: []string{"dns: lookup backend-service", "i/o timeout", "BACKEND_SERVICE_SERVICE_HOST not set"},
		},
		{
			name: "DNS skipped, only the host set",
			cfg:  discovery.Config{SkipDNS: true},
			env:  map[string]string{"BACKEND_SERVICE_SERVICE_HOST": "10.96.0.10", "BACKEND_SERVICE_PORT": "tcp://10.96.0.10:80"},
			want: []string{"dns skipped; env: BACKEND_SERVICE_SERVICE_PORT not set"},
		},
		{
			name: "port name set, only the unnamed port variable",
			cfg:  discovery.Config{SkipDNS: true, PortName: "http"},
			env:  map[string]string{"BACKEND_SERVICE_SERVICE_HOST": "10.96.0.10", "BACKEND_SERVICE_SERVICE_PORT": "80"},
			want: []string{"BACKEND_SERVICE_SERVICE_PORT_HTTP not set"},
		},
		{
			name: "invalid values",
			cfg:  discovery.Config{SkipDNS: true},
			env:  map[string]string{"BACKEND_SERVICE_SERVICE_HOST": "10.96.0.10:80", "BACKEND_SERVICE_SERVICE_PORT": "http"},
			want: []string{`BACKEND_SERVICE_SERVICE_HOST="10.96.0.10:80": not an IP address or host name`,
				`BACKEND_SERVICE_SERVICE_PORT="http": not a port number 1..65535`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got, err := resolveWith(t, tt.cfg, tt.setup, tt.env)
			if !errors.Is(err, discovery.ErrNotFound) {
				t.Fatalf("Resolve() = %+v, %v; want an error wrapping ErrNotFound", got, err)
			}
			for _, part := range tt.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("Resolve() error = %q, want it to contain %q", err, part)
				}
			}
		})
	}
}

func TestNewDNSResolver(t *testing.T) {
	t.Parallel()
	if r := discovery.NewDNSResolver(""); r.PreferGo || r.Dial != nil {
		t.Errorf("NewDNSResolver(\"\") = %+v, want the system resolver", r)
	}
	if r := discovery.NewDNSResolver("127.0.0.1:53"); !r.PreferGo || r.Dial == nil {
		t.Errorf("NewDNSResolver(127.0.0.1:53) = %+v, want Go's resolver with a Dial", r)
	}
}

func TestResolveEmptyService(t *testing.T) {
	t.Parallel()
	s := startDNS(t)
	r := discovery.New(discovery.Config{}, discovery.NewDNSResolver(s.Addr()), mapEnv(k8sEnv))
	if got, err := resolve(t, r); !errors.Is(err, discovery.ErrNotFound) || !strings.Contains(err.Error(), "empty service name") {
		t.Errorf("Resolve() with no service name = %+v, %v; want ErrNotFound naming the problem", got, err)
	}
	if s.Queries() != 0 {
		t.Errorf("Resolve() with no service name sent %d queries, want 0", s.Queries())
	}
}

func TestResolveEnvValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host, port string
		want       string // the address, or "" for an error
	}{
		{host: "10.96.0.10", port: "80", want: "10.96.0.10:80"},
		{host: "fd00::10", port: "65535", want: "[fd00::10]:65535"},
		{host: "backend.example.com", port: "1", want: "backend.example.com:1"},
		{host: "backend.example.com.", port: "0080", want: "backend.example.com.:80"},
		{host: "10.96.0.10", port: "0"},
		{host: "10.96.0.10", port: "65536"},
		{host: "10.96.0.10", port: "-1"},
		{host: "10.96.0.10", port: "+80"},
		{host: "10.96.0.10", port: " 80"},
		{host: "10.96.0.10", port: ""},
		{host: "10.96.0.10", port: "tcp://10.96.0.10:80"},
		{host: "", port: "80"},
		{host: "10.96.0.256", port: "80"},
		{host: "10.96.0.10:80", port: "80"},
		{host: "[fd00::10]", port: "80"},
		{host: "tcp://10.96.0.10", port: "80"},
		{host: "back end", port: "80"},
		{host: "-backend", port: "80"},
		{host: "a..b", port: "80"},
		{host: strings.Repeat("a", 64) + ".test", port: "80"},
	}
	for _, tt := range tests {
		t.Run(tt.host+"_"+tt.port, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"BACKEND_SERVICE_SERVICE_HOST": tt.host, "BACKEND_SERVICE_SERVICE_PORT": tt.port}
			r := discovery.New(discovery.Config{Service: "backend-service", SkipDNS: true}, nil, mapEnv(env))
			got, err := resolve(t, r)
			if tt.want == "" {
				if !errors.Is(err, discovery.ErrNotFound) || !strings.Contains(err.Error(), "=") {
					t.Errorf("Resolve() with host %q port %q = %v, %v; want an error naming the variable and value", tt.host, tt.port, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got.Addrs, []string{tt.want}) {
				t.Errorf("Resolve() with host %q port %q = %v, %v; want [%s]", tt.host, tt.port, got.Addrs, err, tt.want)
			}
		})
	}
}

func TestEnvPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		service, want string
	}{
		{"backend-service", "BACKEND_SERVICE"},
		{"redis", "REDIS"},
		{"my.svc", "MY_SVC"},
		{"Mixed-Case", "MIXED_CASE"},
		{"9lives", "_9LIVES"},
		{"v2-api", "V2_API"},
		{"under_score", "UNDER_SCORE"},
		{"with space/slash", "WITH_SPACE_SLASH"},
		{"ünï", "_N_"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			t.Parallel()
			if got := discovery.EnvPrefix(tt.service); got != tt.want {
				t.Errorf("EnvPrefix(%q) = %q, want %q", tt.service, got, tt.want)
			}
		})
	}
}

// TestEnvVariableNames checks which variables are read, port name included, and that
// <P>_PORT (a tcp:// URL) never is.
func TestEnvVariableNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		service, portName string
		want              []string
	}{
		{"backend-service", "", []string{"BACKEND_SERVICE_SERVICE_HOST", "BACKEND_SERVICE_SERVICE_PORT"}},
		{"backend-service", "http", []string{"BACKEND_SERVICE_SERVICE_HOST", "BACKEND_SERVICE_SERVICE_PORT_HTTP"}},
		{"backend-service", "grpc-web", []string{"BACKEND_SERVICE_SERVICE_HOST", "BACKEND_SERVICE_SERVICE_PORT_GRPC_WEB"}},
		// Kubernetes appends a port name as is: one starting with a digit gets no '_'.
		{"backend-service", "8http", []string{"BACKEND_SERVICE_SERVICE_HOST", "BACKEND_SERVICE_SERVICE_PORT_8HTTP"}},
		{"9svc", "Metrics.Port", []string{"_9SVC_SERVICE_HOST", "_9SVC_SERVICE_PORT_METRICS_PORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.service+"/"+tt.portName, func(t *testing.T) {
			t.Parallel()
			var asked []string
			env := func(key string) (string, bool) {
				asked = append(asked, key)
				return "", false
			}
			r := discovery.New(discovery.Config{Service: tt.service, PortName: tt.portName, SkipDNS: true}, nil, env)
			if _, err := resolve(t, r); err == nil {
				t.Fatalf("Resolve() with an empty environment = nil error, want one")
			}
			if !slices.Equal(asked, tt.want) {
				t.Errorf("Resolve() read %q, want %q", asked, tt.want)
			}
		})
	}
}
