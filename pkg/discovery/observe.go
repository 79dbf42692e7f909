package discovery

import "time"

// Observer is told about every lookup that goes past the cache, once per mechanism tried
// (DNS, then the environment when DNS failed or is skipped), so that metrics can count
// resolutions by source and failures. It is called from the goroutine that runs the lookup,
// so it must be safe for concurrent use. Cache hits are not reported: they are the
// per-request fast path, kept free of allocations, and cost no lookup worth watching.
// pkg/metrics.Discovery implements it.
type Observer interface {
	// ObserveLookup reports that looking service up through source took d and failed
	// with err, or succeeded when err is nil.
	ObserveLookup(service string, source Source, d time.Duration, err error)
}

// Option sets an optional collaborator of a Resolver; pass options to New.
type Option func(*Resolver)

// WithObserver makes the Resolver report its lookups to o. A nil o reports nothing.
func WithObserver(o Observer) Option {
	return func(r *Resolver) { r.obs = o }
}

// observe reports a lookup through source that started at start.
func (r *Resolver) observe(source Source, start time.Time, err error) {
	if r.obs == nil {
		return
	}
	service := r.cfg.Service
	if r.podOf != "" {
		service = r.podOf
	}
	r.obs.ObserveLookup(service, source, time.Since(start), err)
}
