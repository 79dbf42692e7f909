package endpointslices

// Observer is told what a Watcher sees, so that metrics can show whether the watch is healthy:
// a ready count that drops to 0, or failures that keep coming while the frontend serves from
// a view that is getting old, deserve an alert. pkg/metrics.EndpointSlices implements it. It
// is called from Run's goroutine.
type Observer interface {
	// ObserveReady reports the number of ready addresses of service after every change,
	// and after the first list.
	ObserveReady(service string, ready int)
	// ObserveFailure reports a list or watch that failed (anything but the routine expiry of
	// a resourceVersion), after which the Watcher waits and tries again.
	ObserveFailure(service string)
}

// Option sets an optional collaborator of a Watcher.
type Option func(*Watcher)

// WithObserver has the Watcher report to o.
func WithObserver(o Observer) Option {
	return func(w *Watcher) { w.obs = o }
}
