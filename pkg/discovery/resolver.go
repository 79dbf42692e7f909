package discovery

import (
	"context"
	"fmt"
	"time"
)

// entry is a cached answer. It is never modified after it is stored, so readers need no
// lock: one atomic load gives a consistent endpoint and expiry.
type entry struct {
	ep      Endpoint
	expires time.Time
}

// flight is one lookup in progress. Everyone who needs an answer while it runs waits for
// it instead of starting another, so a burst of requests at expiry costs one lookup.
type flight struct {
	done chan struct{} // closed when ep and err are set
	ep   Endpoint
	err  error
}

// Resolve returns the Service's endpoint: the cached one while it is younger than the TTL,
// otherwise the result of a fresh lookup (DNS, then the environment). Failures are not
// cached, so the next call tries again. Every error satisfies errors.Is(err, ErrNotFound).
//
// The lookup itself is not cancelled with ctx: if ctx ends first, Resolve returns ctx's
// error at once, and the lookup (bounded by the lookup timeout) still fills the cache for
// the next caller, such as the retry of a request whose first attempt timed out.
func (r *Resolver) Resolve(ctx context.Context) (Endpoint, error) {
	if e := r.cache.Load(); e != nil && time.Now().Before(e.expires) {
		return e.ep, nil
	}
	return r.refresh(ctx)
}

// refresh joins the lookup in progress, or starts one. The cache is checked again under
// the lock because another caller may have refreshed it while this one waited.
func (r *Resolver) refresh(ctx context.Context) (Endpoint, error) {
	r.mu.Lock()
	if e := r.cache.Load(); e != nil && time.Now().Before(e.expires) {
		r.mu.Unlock()
		return e.ep, nil
	}
	f := r.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		r.flight = f
		// WithoutCancel keeps ctx's values (the trace) but not its deadline: see Resolve.
		go r.run(context.WithoutCancel(ctx), f)
	}
	r.mu.Unlock()

	select {
	case <-f.done:
		return f.ep, f.err
	case <-ctx.Done():
		return Endpoint{}, fmt.Errorf("resolve %s: %w: waiting for lookup: %w", r.cfg.Service, ErrNotFound, context.Cause(ctx))
	}
}

// run performs the lookup of f, caches a good answer and releases the waiters.
func (r *Resolver) run(ctx context.Context, f *flight) {
	f.ep, f.err = r.lookup(ctx)
	if f.err == nil {
		f.ep.Generation = r.generation.Add(1)
	}
	r.mu.Lock()
	if f.err == nil && r.cfg.TTL > 0 {
		r.cache.Store(&entry{ep: f.ep, expires: time.Now().Add(r.cfg.TTL)})
	}
	r.flight = nil
	r.mu.Unlock()
	close(f.done)
}

// Invalidate drops the cached answer, so the next Resolve looks up again. Callers use it
// after a connection failure: the pod behind a cached address may be gone. A lookup that
// is already running is not restarted; it began after the dropped answer was cached.
func (r *Resolver) Invalidate() {
	r.cache.Store(nil)
}
