package endpointslices

import (
	"context"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// Resolver finds a backend's addresses. It has the method set of httpclient.Resolver, and
// *discovery.Resolver and *Watcher both satisfy it; it is declared here so that this
// package does not depend on the client.
type Resolver interface {
	Resolve(ctx context.Context) (discovery.Endpoint, error)
}

var _ Resolver = (*Watcher)(nil)

// WithFallback returns a Resolver that answers from next until w has listed the Service's
// EndpointSlices once, and from w from then on. Until then the API server may be unreachable
// or forbid the list, and DNS is the best there is; after that w is authoritative, even with
// no ready endpoint, because DNS would only lag behind it. If the API server goes away later,
// w keeps its last view, which is as current as anything DNS could tell.
//
// The Resolver also has an Invalidate method (httpclient.Invalidator), which drops next's
// cached answer while next is the one answering and next has an Invalidate method of its own
// (*discovery.Resolver does); w has nothing to invalidate.
func WithFallback(w *Watcher, next Resolver) Resolver {
	return fallback{w: w, next: next}
}

type fallback struct {
	w    *Watcher
	next Resolver
}

func (f fallback) Resolve(ctx context.Context) (discovery.Endpoint, error) {
	if f.w.state.Load() != nil {
		return f.w.Resolve(ctx)
	}
	return f.next.Resolve(ctx)
}

// Invalidate passes the client's hint on to next while next answers.
func (f fallback) Invalidate() {
	if inv, ok := f.next.(interface{ Invalidate() }); ok && f.w.state.Load() == nil {
		inv.Invalidate()
	}
}
