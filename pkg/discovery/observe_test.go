package discovery_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

// lookups is a fake discovery.Observer that keeps "service source ok|error" per lookup.
type lookups struct {
	mu   sync.Mutex
	seen []string
}

func (l *lookups) ObserveLookup(service string, source discovery.Source, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	if d < 0 {
		result = "negative duration"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, service+" "+string(source)+" "+result)
}

func (l *lookups) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

func TestObserver(t *testing.T) {
	t.Parallel()
	env := map[string]string{"BACKEND_SERVICE_SERVICE_HOST": "10.96.0.10", "BACKEND_SERVICE_SERVICE_PORT": "80"}
	tests := []struct {
		name    string
		cfg     discovery.Config
		dns     func(s *dnstest.Server)
		env     map[string]string
		resolve int // how many times to resolve
		want    []string
	}{
		{
			name:    "dns answers, then the cache",
			cfg:     discovery.Config{TTL: time.Hour},
			dns:     func(s *dnstest.Server) { s.SetA("backend-service", "10.0.0.1") },
			resolve: 3,
			want:    []string{"backend-service dns ok"},
		},
		{
			name:    "dns fails, env answers",
			cfg:     discovery.Config{TTL: time.Hour},
			dns:     func(s *dnstest.Server) { s.SetMode(dnstest.ModeServFail) },
			env:     env,
			resolve: 2,
			want:    []string{"backend-service dns error", "backend-service env ok"},
		},
		{
			name:    "dns skipped",
			cfg:     discovery.Config{SkipDNS: true},
			env:     env,
			resolve: 1,
			want:    []string{"backend-service env ok"},
		},
		{
			name:    "nothing answers, failures are not cached",
			cfg:     discovery.Config{TTL: time.Hour},
			resolve: 2,
			want:    []string{"backend-service dns error", "backend-service env error", "backend-service dns error", "backend-service env error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startDNS(t)
			if tt.dns != nil {
				tt.dns(s)
			}
			obs := &lookups{}
			cfg := tt.cfg
			cfg.Service = "backend-service"
			r := discovery.New(cfg, discovery.NewDNSResolver(s.Addr()), mapEnv(tt.env), discovery.WithObserver(obs))
			for range tt.resolve {
				_, _ = resolve(t, r)
			}
			if got := obs.get(); !slices.Equal(got, tt.want) {
				t.Errorf("observed lookups %q, want %q", got, tt.want)
			}
		})
	}
}
