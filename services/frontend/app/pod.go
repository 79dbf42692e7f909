package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// errOtherPod means the address a pod's name resolved to was answered by another pod: DNS
// (or a cache on the way) still gave an old address that a new pod has taken since.
var errOtherPod = errors.New("the address was answered by another pod")

// podCaller calls one backend pod by its stable name, <name>.<PODS_SERVICE>. A StatefulSet's
// pod keeps its name when it is replaced and gets a new IP; resolving the name afresh for
// every call is what always reaches the pod that has the name now.
type podCaller struct {
	discovery discovery.Config // the headless Service's, with the pods' port as DefaultPort
	dns       discovery.DNS
	lookups   discovery.Option // counts the lookups under the Service's name
	client    httpclient.Config
	deps      httpclient.Deps // the backend calls' own, but for the Resolver: the pod's
}

// newPodCaller returns nil when PODS_SERVICE is not set. The pods are resolved like the
// backend (the same DNS resolver, cluster domain and lookup timeout) and called with the same
// client settings, tracing, metrics and TLS; deps.Resolver is replaced. Their namespace is
// DISCOVERY_NAMESPACE's, or else the frontend's own (POD_NAMESPACE), so that the name is asked
// as one FQDN: a short name would walk the pod's search list, and its last try, the bare name,
// goes to the cluster DNS's upstream, whose failure (or a cluster DNS with none, which answers
// SERVFAIL) would hide the NXDOMAIN that tells "no such pod" (404) from a DNS failure (503).
func newPodCaller(cfg Config, dns discovery.DNS, lookups discovery.Option, deps httpclient.Deps) *podCaller {
	if cfg.PodsService == "" {
		return nil
	}
	d := cfg.Discovery
	d.Service, d.DefaultPort = cfg.PodsService, cfg.PodsPort
	if d.Namespace == "" {
		d.Namespace = cfg.Telemetry.Namespace
	}
	return &podCaller{discovery: d, dns: dns, lookups: lookups, client: cfg.Client, deps: deps}
}

// call calls GET / of the pod called name. The pod gets a Resolver and a client of its own for
// this call, so nothing about a name (a cached address, the client's memory of an address
// that failed) outlives the call, and a name chosen by a caller leaves nothing behind; the
// connection is closed after the answer for the same reason. The client's retries resolve the
// name again after a failed connect, so a pod that was just replaced can still answer. An
// answer from another pod is an error: the name is the point.
func (p *podCaller) call(ctx context.Context, name string) (callView, error) {
	resolver, err := discovery.NewPod(p.discovery, name, p.dns, p.lookups)
	if err != nil {
		return callView{}, err
	}
	deps := p.deps
	deps.Resolver = resolver
	client := httpclient.New(p.client, deps)
	defer client.CloseIdleConnections()
	view, err := newBackendCaller(client).call(ctx, true)
	if err == nil && view.Backend.Pod != name {
		return view, &answerError{status: http.StatusOK, addr: view.Discovery.Addr, attempts: view.Attempts, err: errOtherPod}
	}
	return view, err
}

// podView is the answer of GET /api/pod/{name}: the name asked for, then the call as GET /
// shows it, with the pod's identity and the address its name resolved to.
type podView struct {
	Requested string `json:"requested"`
	callView
}

// podFailureView is a failed GET /api/pod/{name}.
type podFailureView struct {
	Requested string `json:"requested"`
	failureView
}

// handlePod is GET /api/pod/{name}: one call to the backend pod called name, a pod of the
// headless Service PODS_SERVICE (a StatefulSet's backend-0, backend-1, ...), answered as JSON.
// The statuses: 400 for a name that is not an RFC 1123 label (checked before any lookup); 404
// when PODS_SERVICE is not set, or when DNS says no ready pod has the name (a pod being
// replaced is not listed until it is ready); 502 when the pod's address was answered by
// another pod; otherwise those of GET / (503 when DNS fails or nothing accepts the
// connection, 502 for a bad answer, 504 for none in time).
func handlePod(pods *podCaller, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := httpserver.Query(r); err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		if pods == nil {
			httpserver.WriteError(w, http.StatusNotFound, "this frontend calls no pods by name: PODS_SERVICE is not set")
			return
		}
		name := chi.URLParam(r, "name")
		view, err := pods.call(r.Context(), name)
		if errors.Is(err, discovery.ErrBadPodName) {
			httpserver.WriteError(w, http.StatusBadRequest,
				"pod name must be an RFC 1123 label: 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit")
			return
		}
		if err != nil {
			f := failure(err, view)
			switch {
			case errors.Is(err, discovery.ErrNoSuchPod):
				f.Status, f.Error = http.StatusNotFound, fmt.Sprintf("no ready pod %s behind %s: DNS does not know its name", name, pods.discovery.Service)
			case errors.Is(err, errOtherPod):
				f.Error = fmt.Sprintf("the address of %s was answered by %s: an out-of-date DNS answer", name, view.Backend.Pod)
			}
			annotate(r.Context(), f.Tried.Source, "", "", f.Tried.Attempts)
			logger.WarnContext(r.Context(), "pod call failed", "pod", name, "error", err, "status", f.Status)
			httpserver.WriteJSON(w, f.Status, podFailureView{Requested: name, failureView: f})
			return
		}
		annotate(r.Context(), view.Discovery.Source, view.Discovery.Addr, view.Backend.Pod, view.Attempts)
		httpserver.WriteJSON(w, http.StatusOK, podView{Requested: name, callView: view})
	})
}
