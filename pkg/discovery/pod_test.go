package discovery_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

// newPod returns a Resolver for pod name of the headless Service backend-stateful, with the
// pods' port 8080, querying only s.
func newPod(t *testing.T, cfg discovery.Config, name string, s *dnstest.Server, opts ...discovery.Option) *discovery.Resolver {
	t.Helper()
	if cfg.Service == "" {
		cfg.Service = "backend-stateful"
	}
	if cfg.DefaultPort == 0 {
		cfg.DefaultPort = 8080
	}
	r, err := discovery.NewPod(cfg, name, discovery.NewDNSResolver(s.Addr()), opts...)
	if err != nil {
		t.Fatalf("NewPod(%q) = %v", name, err)
	}
	return r
}

func TestNewPod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   discovery.Config
		setup func(s *dnstest.Server)
		want  discovery.Endpoint
	}{
		{
			name:  "the pod's A record with the pods' port",
			setup: func(s *dnstest.Server) { s.SetA("backend-0.backend-stateful", "10.244.0.7") },
			want:  discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-0.backend-stateful", Addrs: []string{"10.244.0.7:8080"}},
		},
		{
			name: "namespace queries the pod's FQDN",
			cfg:  discovery.Config{Namespace: "prod"},
			setup: func(s *dnstest.Server) {
				s.SetA("backend-0.backend-stateful", "10.9.9.9") // the short name must not be asked
				s.SetA("backend-0.backend-stateful.prod.svc.cluster.local.", "10.244.0.7")
			},
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-0.backend-stateful.prod.svc.cluster.local.",
				Addrs: []string{"10.244.0.7:8080"}},
		},
		{
			// Kubernetes has no SRV record per pod: asking for one would cost a query (a walk
			// down the search list in a pod) that always fails.
			name: "port name ignored: no SRV query",
			cfg:  discovery.Config{PortName: "http"},
			setup: func(s *dnstest.Server) {
				s.SetA("elsewhere.test", "10.9.9.9")
				s.SetSRV("_http._tcp.backend-0.backend-stateful", dnstest.SRV{Target: "elsewhere.test", Port: 9999})
				s.SetA("backend-0.backend-stateful", "10.244.0.7")
			},
			want: discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-0.backend-stateful", Addrs: []string{"10.244.0.7:8080"}},
		},
		{
			name:  "skip DNS ignored: a pod has nothing else",
			cfg:   discovery.Config{SkipDNS: true},
			setup: func(s *dnstest.Server) { s.SetA("backend-0.backend-stateful", "10.244.0.7") },
			want:  discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-0.backend-stateful", Addrs: []string{"10.244.0.7:8080"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startDNS(t)
			tt.setup(s)
			got, err := resolve(t, newPod(t, tt.cfg, "backend-0", s))
			got.Generation = 0
			if err != nil || got.Source != tt.want.Source || got.Name != tt.want.Name || strings.Join(got.Addrs, " ") != strings.Join(tt.want.Addrs, " ") {
				t.Errorf("Resolve() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestNewPodNewIP is seed 001's point in miniature: the pod is replaced, its IP changes, and
// its name leads to the new IP.
func TestNewPodNewIP(t *testing.T) {
	t.Parallel()
	s := startDNS(t)
	s.SetA("backend-0.backend-stateful", "10.244.0.7")
	r := newPod(t, discovery.Config{}, "backend-0", s) // TTL 0: every Resolve asks DNS
	before, err := resolve(t, r)
	if err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	s.SetA("backend-0.backend-stateful", "10.244.0.12")
	after, err := resolve(t, r)
	if err != nil || len(after.Addrs) != 1 || after.Addrs[0] != "10.244.0.12:8080" {
		t.Errorf("Resolve() after the pod was replaced = %v, %v; want [10.244.0.12:8080] (before: %v)", after.Addrs, err, before.Addrs)
	}
}

func TestNewPodErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(s *dnstest.Server)
		wantNoPod bool
	}{
		{name: "NXDOMAIN: no pod of that name", setup: func(*dnstest.Server) {}, wantNoPod: true},
		{name: "name without addresses", setup: func(s *dnstest.Server) { s.SetA("backend-0.backend-stateful") }, wantNoPod: true},
		{name: "SERVFAIL says nothing about the pod", setup: func(s *dnstest.Server) {
			s.SetA("backend-0.backend-stateful", "10.244.0.7")
			s.SetMode(dnstest.ModeServFail)
		}},
		{name: "no answer says nothing about the pod", setup: func(s *dnstest.Server) {
			s.SetA("backend-0.backend-stateful", "10.244.0.7")
			s.SetMode(dnstest.ModeNoAnswer)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startDNS(t)
			tt.setup(s)
			ep, err := resolve(t, newPod(t, discovery.Config{LookupTimeout: 100 * time.Millisecond}, "backend-0", s))
			if !errors.Is(err, discovery.ErrNotFound) || errors.Is(err, discovery.ErrNoSuchPod) != tt.wantNoPod {
				t.Errorf("Resolve() = %+v, %v; want ErrNotFound, ErrNoSuchPod %v", ep, err, tt.wantNoPod)
			}
		})
	}
}

func TestNewPodBadName(t *testing.T) {
	t.Parallel()
	s := startDNS(t)
	for _, name := range []string{"", "Backend-0", "-backend", "backend-", "backend-0.other", "backend-0.", "a_b", "a b", "é",
		strings.Repeat("a", 64)} {
		r, err := discovery.NewPod(discovery.Config{Service: "backend-stateful"}, name, discovery.NewDNSResolver(s.Addr()))
		if !errors.Is(err, discovery.ErrBadPodName) || r != nil {
			t.Errorf("NewPod(%q) = %v, %v; want nil, ErrBadPodName", name, r, err)
		}
	}
	for _, name := range []string{"backend-0", "0", "a", "a-b-c", strings.Repeat("a", 63)} {
		if _, err := discovery.NewPod(discovery.Config{Service: "backend-stateful"}, name, discovery.NewDNSResolver(s.Addr())); err != nil {
			t.Errorf("NewPod(%q) = %v, want a Resolver", name, err)
		}
	}
	if _, err := discovery.NewPod(discovery.Config{}, "backend-0", discovery.NewDNSResolver(s.Addr())); !errors.Is(err, discovery.ErrNotFound) {
		t.Errorf("NewPod without a Service = %v, want ErrNotFound", err)
	}
	if s.Queries() != 0 {
		t.Errorf("NewPod made %d DNS queries, want 0: names are checked before anything is asked", s.Queries())
	}
}

// TestNewPodObservedUnderService checks that pod names, chosen by callers, never reach the
// observer, whose service becomes a metric label.
func TestNewPodObservedUnderService(t *testing.T) {
	t.Parallel()
	s := startDNS(t)
	s.SetA("backend-0.backend-stateful", "10.244.0.7")
	obs := &lookups{}
	for _, name := range []string{"backend-0", "backend-9"} {
		_, _ = resolve(t, newPod(t, discovery.Config{}, name, s, discovery.WithObserver(obs)))
	}
	want := "backend-stateful dns ok, backend-stateful dns error"
	if got := strings.Join(obs.get(), ", "); got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
}
