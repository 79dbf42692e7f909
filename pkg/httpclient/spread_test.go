package httpclient_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// resolvable answers Resolve with the endpoint last stored, the same answer every time as
// discovery's cache does; storing a new endpoint stands for a fresh lookup, so it has the
// next Generation.
type resolvable struct {
	ep            atomic.Pointer[discovery.Endpoint]
	generation    atomic.Uint64
	invalidations atomic.Int64
}

func (r *resolvable) set(addrs ...string) {
	r.ep.Store(&discovery.Endpoint{Source: discovery.SourceDNS, Name: "_http._tcp.backend-service", Addrs: slices.Clone(addrs),
		Generation: r.generation.Add(1)})
}

func (r *resolvable) Resolve(context.Context) (discovery.Endpoint, error) { return *r.ep.Load(), nil }
func (r *resolvable) Invalidate()                                         { r.invalidations.Add(1) }

// TestRefusedAddressIsSkipped plays a headless Service whose pod backend-2 died: its address
// is still listed but refuses connections. One call pays for finding out; the calls after it
// skip the address until the next resolution, and nothing forces a lookup.
func TestRefusedAddressIsSkipped(t *testing.T) {
	t.Parallel()
	good1, n1 := statusServer(t, 200)
	good2, n2 := statusServer(t, 200)
	addrs := []string{good1, closedAddr(t), good2}
	r := &resolvable{}
	r.set(addrs...)
	c := newClient(t, fast, httpclient.Deps{Resolver: r})

	const calls = 30
	// refusedDials runs calls GETs and returns how many attempts went to the refused
	// address: every call succeeds, so each attempt beyond the first of a call is one.
	refusedDials := func(round string) int {
		t.Helper()
		extra := 0
		for i := range calls {
			res, err := c.Get(t.Context(), "/")
			if err != nil {
				t.Fatalf("%s: Get #%d error = %v", round, i, err)
			}
			if res.Addr == addrs[1] {
				t.Errorf("%s: Get #%d Addr = %s, the refusing address", round, i, res.Addr)
			}
			extra += res.Attempts - 1
		}
		return extra
	}

	if got := refusedDials("first resolution"); got != 1 {
		t.Errorf("%d calls dialled the refusing address %d times, want 1 (then it is skipped)", calls, got)
	}
	if got := r.invalidations.Load(); got != 0 {
		t.Errorf("Invalidate called %d times, want 0 while other addresses answer", got)
	}
	if n1.Load() == 0 || n2.Load() == 0 || n1.Load()+n2.Load() != calls {
		t.Errorf("servers got %d and %d requests, want both some, %d in all", n1.Load(), n2.Load(), calls)
	}

	// A new lookup that still lists the address (DNS lags behind the pod) costs one more
	// refused dial, not one per call.
	r.set(addrs...)
	if got := refusedDials("next resolution"); got != 1 {
		t.Errorf("after a new resolution, %d calls dialled the refusing address %d times, want 1", calls, got)
	}
}

// TestRefusedAddressIsSkippedByAddress: the client remembers the failed address itself, not
// the answer it came in, so a resolver that builds a new slice for every call and does not
// number its answers (Generation 0) gets the address skipped too, for a while.
func TestRefusedAddressIsSkippedByAddress(t *testing.T) {
	t.Parallel()
	good, requests := statusServer(t, 200)
	addrs := []string{closedAddr(t), good}
	fresh := resolverFunc(func(context.Context) (discovery.Endpoint, error) {
		return discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: slices.Clone(addrs)}, nil
	})
	c := newClient(t, fast, httpclient.Deps{Resolver: fresh})

	const calls = 10
	extra := 0
	for i := range calls {
		res, err := c.Get(t.Context(), "/")
		if err != nil {
			t.Fatalf("Get #%d error = %v", i, err)
		}
		extra += res.Attempts - 1
	}
	if extra != 1 || requests.Load() != calls {
		t.Errorf("%d calls dialled the refusing address %d times and the good one %d, want 1 and %d", calls, extra, requests.Load(), calls)
	}
}

// TestMaxConnAge counts the connections a backend accepts for a series of sequential calls,
// which one keep-alive connection would carry without a bound on its age.
func TestMaxConnAge(t *testing.T) {
	t.Parallel()
	const calls = 5
	tests := []struct {
		name      string
		maxAge    time.Duration
		wantConns int64
	}{
		{"negative is unbounded: one connection", httpclient.NoMaxConnAge, 1},
		{"young connections are reused", time.Hour, 1},
		// Every connection is older than 1ns by the time a request gets it, so each call
		// is the last on its connection and the next one dials again.
		{"old connections are re-dialled", time.Nanosecond, calls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var accepted, closing atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Close {
					closing.Add(1)
				}
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					accepted.Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)
			cfg := fast
			cfg.MaxConnAge = tt.maxAge
			c := newClient(t, cfg, httpclient.Deps{Resolver: fixed(srv.Listener.Addr().String())})
			for i := range calls {
				if _, err := c.Get(t.Context(), "/"); err != nil {
					t.Fatalf("Get #%d error = %v", i, err)
				}
			}
			if got := accepted.Load(); got != tt.wantConns {
				t.Errorf("MaxConnAge %v: %d calls opened %d connections, want %d", tt.maxAge, calls, got, tt.wantConns)
			}
			// The server is told, so it closes too instead of waiting for its idle timeout.
			if wantClosing := map[bool]int64{true: calls, false: 0}[tt.wantConns == calls]; closing.Load() != wantClosing {
				t.Errorf("MaxConnAge %v: %d requests said Connection: close, want %d", tt.maxAge, closing.Load(), wantClosing)
			}
		})
	}
}

// BenchmarkGetMaxConnAge is BenchmarkGet with the connection age bound on (the services'
// default), to show what the per-request check costs.
func BenchmarkGetMaxConnAge(b *testing.B) {
	addr, _ := statusServer(b, 200)
	cfg := httpclient.Config{MaxConnAge: 30 * time.Second}
	c := newClient(b, cfg, httpclient.Deps{Resolver: fixed(addr)})
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := c.Get(ctx, "/"); err != nil || res.Status != http.StatusOK {
			b.Fatalf("Get = %+v, %v", res, err)
		}
	}
}
