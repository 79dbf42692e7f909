package endpointslices_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/endpointslices"
)

// dnsStub stands in for the DNS resolver and counts how it is used.
type dnsStub struct {
	resolves, invalidations atomic.Int64
}

func (d *dnsStub) Resolve(context.Context) (discovery.Endpoint, error) {
	d.resolves.Add(1)
	return discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{"10.96.0.10:80"}}, nil
}

func (d *dnsStub) Invalidate() { d.invalidations.Add(1) }

func TestWithFallback(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	a.setForbidden(true)
	http8080 := []map[string]any{tcp("http", 8080)}
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}})
	w, _ := startWatcher(t, a, cfg("http"), staticToken("token-1"))
	dns := &dnsStub{}
	r := endpointslices.WithFallback(w, dns)
	inv, ok := r.(interface{ Invalidate() })
	if !ok {
		t.Fatalf("WithFallback() = %T, want it to have an Invalidate method for DNS", r)
	}

	// Before the first list: DNS answers, and is the one to invalidate.
	waitFor(t, "a refused list", func() bool { return a.stats().requests > 0 })
	if got, want := addrs(r), "10.96.0.10:80"; got != want {
		t.Errorf("Resolve() = %q before sync, want %q from DNS", got, want)
	}
	inv.Invalidate()
	if got := dns.invalidations.Load(); got != 1 {
		t.Errorf("DNS invalidations = %d, want 1", got)
	}

	a.setForbidden(false)
	waitSynced(t, w)
	ep, err := r.Resolve(context.Background())
	if err != nil || ep.Source != endpointslices.SourceEndpointSlices || len(ep.Addrs) != 1 || ep.Addrs[0] != "10.0.0.1:8080" {
		t.Errorf("Resolve() = %+v, %v after sync, want 10.0.0.1:8080 from endpointslices", ep, err)
	}
	inv.Invalidate()
	if got := dns.invalidations.Load(); got != 1 {
		t.Errorf("DNS invalidations = %d after sync, want still 1", got)
	}

	// Synced and empty: the watcher's answer stands, DNS is not asked.
	resolves := dns.resolves.Load()
	a.remove("a")
	waitAddrs(t, r, noReady)
	if _, err := r.Resolve(context.Background()); !errors.Is(err, discovery.ErrNotFound) {
		t.Errorf("Resolve() error = %v with no ready endpoint, want one matching discovery.ErrNotFound", err)
	}
	if got := dns.resolves.Load(); got != resolves {
		t.Errorf("DNS resolves = %d after sync, want still %d", got, resolves)
	}
}
