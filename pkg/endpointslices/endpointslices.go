// Package endpointslices finds a Service's ready pods by watching its EndpointSlices on the
// Kubernetes API server. A client then sends traffic to a new pod about a second after it
// turns Ready and stops sending to a terminating one at once, where DNS makes it wait out
// CoreDNS's cache (30s by default).
//
// It speaks to the API server with net/http and encoding/json only, not client-go, which
// would add megabytes to the image for two requests: one list, then a watch from the list's
// resourceVersion, renewed whenever it ends. WithFallback answers from another Resolver
// (DNS) until the first list succeeds, so a pod whose service account may not read
// EndpointSlices, or that runs outside a cluster, still finds its backend.
package endpointslices

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// SourceEndpointSlices means the addresses came from the Service's EndpointSlices.
const SourceEndpointSlices discovery.Source = "endpointslices"

// Config says which Service to watch and which of its ports to dial.
type Config struct {
	// Service is the Service's name. Its EndpointSlices carry the label
	// kubernetes.io/service-name=<Service>, which is how they are selected.
	Service string
	// Namespace is the Service's namespace; InCluster returns the pod's own as a default.
	Namespace string
	// PortName picks the slice's port by name, as named in the Service. "" picks the
	// unnamed port, or the only port whatever its name.
	PortName string
}

// Watcher keeps the ready addresses of one Service current by watching its EndpointSlices.
// Run does the watching; Resolve and Synced are safe for concurrent use. It has no Invalidate:
// the watch pushes every change, so there is no cached answer to drop.
type Watcher struct {
	cfg  Config
	api  API
	log  *slog.Logger
	name string // <service>.<namespace>: the Name of every Endpoint

	// state is nil until the first list succeeded. It is replaced, never modified, so
	// Resolve costs one atomic load and no lock.
	state  atomic.Pointer[discovery.Endpoint]
	synced chan struct{} // closed when state is first set

	// The errors of Resolve are made once, so that answering costs no allocation.
	errNotSynced error
	errNoReady   error

	running atomic.Bool
	obs     Observer // nil: nothing is reported
	// bySlice holds each slice's usable addresses, by slice name. Only Run's goroutine
	// touches it.
	bySlice map[string][]string
}

// New returns a Watcher of cfg's Service through api; nothing happens until Run is called.
// A nil logger discards the logs. opts add optional collaborators, such as WithObserver.
func New(cfg Config, api API, logger *slog.Logger, opts ...Option) *Watcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	name := cfg.Service + "." + cfg.Namespace
	w := &Watcher{
		cfg:          cfg,
		api:          api,
		log:          logger.With(slog.String("discovery", string(SourceEndpointSlices)), slog.String("target_service", cfg.Service), slog.String("target_namespace", cfg.Namespace)),
		name:         name,
		synced:       make(chan struct{}),
		errNotSynced: fmt.Errorf("resolve %s: %w: endpointslices not listed yet", name, discovery.ErrNotFound),
		errNoReady:   fmt.Errorf("resolve %s: %w: no ready endpoints", name, discovery.ErrNotFound),
		bySlice:      map[string][]string{},
	}
	for _, opt := range opts {
		opt(w)
	}
	return w
}

// Resolve returns the Service's ready addresses as last seen, sorted. It never blocks: the
// watch keeps them current, so ctx is not used. Before the first successful list, and
// whenever no endpoint is ready, the error matches errors.Is(err, discovery.ErrNotFound).
func (w *Watcher) Resolve(context.Context) (discovery.Endpoint, error) {
	ep := w.state.Load()
	switch {
	case ep == nil:
		return discovery.Endpoint{}, w.errNotSynced
	case len(ep.Addrs) == 0:
		return discovery.Endpoint{}, w.errNoReady
	}
	return *ep, nil
}

// Synced returns a channel that is closed once the first list has succeeded; from then on
// Resolve answers from the API server's view.
func (w *Watcher) Synced() <-chan struct{} { return w.synced }

// publish makes the union of every slice's addresses what Resolve returns.
//
// It stores a new Endpoint, with the next Generation, only when the sorted addresses differ
// from the published ones. httpclient forgets which addresses failed to connect when the
// Generation changes, so bookmarks and updates that do not change the ready set (a slice
// gaining a not-ready pod, another port's change) must not look like a new resolution.
func (w *Watcher) publish() {
	var addrs []string
	for _, a := range w.bySlice {
		addrs = append(addrs, a...)
	}
	slices.Sort(addrs)
	// A pod moving between slices can appear in both for a moment.
	addrs = slices.Clip(slices.Compact(addrs))

	old := w.state.Load()
	if old != nil && slices.Equal(old.Addrs, addrs) {
		return
	}
	gen := uint64(1)
	if old != nil {
		gen = old.Generation + 1
	}
	w.state.Store(&discovery.Endpoint{Source: SourceEndpointSlices, Name: w.name, Addrs: addrs, Generation: gen})
	w.log.Info("ready endpoints changed", slog.Int("endpoints", len(addrs)))
	if w.obs != nil {
		w.obs.ObserveReady(w.cfg.Service, len(addrs))
	}
	if old == nil {
		close(w.synced)
	}
}
