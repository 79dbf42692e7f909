package discovery_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

func TestCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ttl  time.Duration
		// between runs after the first Resolve, which found 10.0.0.1; the records then
		// say 10.0.0.2.
		between     func(r *discovery.Resolver)
		wantQueries bool // whether the second Resolve queried DNS
		wantAddr    string
	}{
		{name: "hit makes no query", ttl: time.Hour, wantAddr: "10.0.0.1:80"},
		{name: "expiry queries again", ttl: time.Millisecond,
			between: func(*discovery.Resolver) { time.Sleep(20 * time.Millisecond) }, wantQueries: true, wantAddr: "10.0.0.2:80"},
		{name: "Invalidate queries again", ttl: time.Hour,
			between: (*discovery.Resolver).Invalidate, wantQueries: true, wantAddr: "10.0.0.2:80"},
		{name: "TTL 0 always queries", ttl: 0, wantQueries: true, wantAddr: "10.0.0.2:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startDNS(t)
			s.SetA("backend-service", "10.0.0.1")
			r := newResolver(discovery.Config{TTL: tt.ttl}, s, nil)
			first, err := resolve(t, r)
			if err != nil || first.Addrs[0] != "10.0.0.1:80" || first.Generation == 0 {
				t.Fatalf("Resolve() = %+v, %v; want 10.0.0.1:80 with a Generation", first, err)
			}
			s.SetA("backend-service", "10.0.0.2")
			if tt.between != nil {
				tt.between(r)
			}
			before := s.Queries()
			got, err := resolve(t, r)
			if err != nil || !slices.Equal(got.Addrs, []string{tt.wantAddr}) {
				t.Errorf("Resolve() again = %+v, %v; want [%s]", got, err, tt.wantAddr)
			}
			if queried := s.Queries() > before; queried != tt.wantQueries {
				t.Errorf("Resolve() again queried DNS: %t, want %t", queried, tt.wantQueries)
			}
			// A new lookup is a new generation; a cached answer keeps its own.
			if fresh := got.Generation > first.Generation; fresh != tt.wantQueries {
				t.Errorf("Resolve() again Generation = %d after %d: new %t, want %t", got.Generation, first.Generation, fresh, tt.wantQueries)
			}
		})
	}
}

func TestCacheKeepsEnvAnswerButNotFailures(t *testing.T) {
	t.Parallel()
	var reads atomic.Int64
	vars := map[string]string{}
	var mu sync.Mutex
	env := func(key string) (string, bool) {
		reads.Add(1)
		mu.Lock()
		defer mu.Unlock()
		v, ok := vars[key]
		return v, ok
	}
	r := discovery.New(discovery.Config{Service: "backend-service", SkipDNS: true, TTL: time.Hour}, nil, env)
	if _, err := resolve(t, r); !errors.Is(err, discovery.ErrNotFound) {
		t.Fatalf("Resolve() with no variables = %v, want ErrNotFound", err)
	}
	mu.Lock()
	vars["BACKEND_SERVICE_SERVICE_HOST"], vars["BACKEND_SERVICE_SERVICE_PORT"] = "10.96.0.10", "80"
	mu.Unlock()
	// The failure was not cached: the variables are read again.
	if got, err := resolve(t, r); err != nil || got.Source != discovery.SourceEnv {
		t.Fatalf("Resolve() once the variables are set = %+v, %v; want an env endpoint", got, err)
	}
	n := reads.Load()
	if _, err := resolve(t, r); err != nil || reads.Load() != n {
		t.Errorf("Resolve() of a cached env answer = %v and read %d more variables, want nil and 0", err, reads.Load()-n)
	}
}

// TestConcurrentResolve runs a thundering herd at a cold cache, with invalidations racing,
// under -race: every caller gets the answer and the herd costs one lookup.
func TestConcurrentResolve(t *testing.T) {
	t.Parallel()
	s := startDNS(t)
	threeReplicas(s)
	s.SetSRV("_http._tcp.backend-service.prod.svc.cluster.local.", dnstest.SRV{Target: "backend-1.test.local", Port: 8081})
	r := newResolver(discovery.Config{Namespace: "prod", PortName: "http", TTL: time.Hour}, s, nil)
	want := []string{"127.0.0.1:8081"}

	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			got, err := resolve(t, r)
			if err != nil || !slices.Equal(got.Addrs, want) {
				t.Errorf("Resolve() = %+v, %v; want %q", got, err, want)
			}
		})
	}
	close(start)
	wg.Wait()
	// One lookup: the SRV query, then A and AAAA for its one target.
	if got := s.Queries(); got != 3 {
		t.Errorf("100 concurrent Resolve() sent %d queries, want 3 (one lookup)", got)
	}

	for i := range 100 {
		wg.Go(func() {
			if i%10 == 0 {
				r.Invalidate()
			}
			if got, err := resolve(t, r); err != nil || !slices.Equal(got.Addrs, want) {
				t.Errorf("Resolve() while invalidating = %+v, %v; want %q", got, err, want)
			}
		})
	}
	wg.Wait()
}

// TestResolveOutlivesCaller shows that a caller's deadline ends its wait, not the lookup:
// the lookup still finishes (here on the env fallback) and serves the next caller.
func TestResolveOutlivesCaller(t *testing.T) {
	t.Parallel()
	s := startDNS(t)
	s.SetMode(dnstest.ModeNoAnswer)
	r := newResolver(discovery.Config{TTL: time.Hour, LookupTimeout: 300 * time.Millisecond}, s, k8sEnv)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	got, err := r.Resolve(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, discovery.ErrNotFound) {
		t.Fatalf("Resolve(short deadline) = %+v, %v; want DeadlineExceeded and ErrNotFound", got, err)
	}
	got, err = resolve(t, r)
	if err != nil || got.Source != discovery.SourceEnv {
		t.Fatalf("Resolve() after = %+v, %v; want the env endpoint", got, err)
	}
	n := s.Queries()
	if got, err = resolve(t, r); err != nil || s.Queries() != n {
		t.Errorf("Resolve() of the cached answer = %+v, %v after %d more queries; want no query", got, err, s.Queries()-n)
	}
}

func TestNewPanicsWithoutDNS(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Errorf("New(cfg, nil, env) without SkipDNS did not panic")
		}
	}()
	discovery.New(discovery.Config{Service: "backend-service"}, nil, nil)
}

// BenchmarkResolveCached measures the per-request cost once the cache is warm: the goal is
// under 200 ns/op and no allocation. The resolver has an Observer, as in the services, to
// show that metrics cost the cached path nothing.
func BenchmarkResolveCached(b *testing.B) {
	s, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		b.Fatalf("dnstest.Start: %v", err)
	}
	defer s.Close()
	threeReplicas(s)
	r := discovery.New(discovery.Config{Service: "backend-service", PortName: "http", TTL: time.Hour},
		discovery.NewDNSResolver(s.Addr()), nil, discovery.WithObserver(&lookups{}))
	ctx := context.Background()
	if _, err := r.Resolve(ctx); err != nil {
		b.Fatalf("Resolve() = %v", err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Resolve(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
