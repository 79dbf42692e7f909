package endpointslices_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/endpointslices"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// fakeAPI is a loopback HTTPS server with the part of the Kubernetes API a Watcher uses:
// list and watch the EndpointSlices of one namespace. Like the real server, it numbers every
// change with a resourceVersion, replays the changes after the one a watch starts from, and
// answers 410 Gone to a watch from before the last compaction (expire).
type fakeAPI struct {
	t       testing.TB
	srv     *httptest.Server
	ns, svc string
	stop    chan struct{} // closed at the end of the test, to end open watches

	mu          sync.Mutex
	rv          int
	objects     map[string][]byte // current slices by name
	history     []change
	compacted   int // a watch from an older resourceVersion is gone
	token       string
	forbid      bool
	goneAsEvent bool          // answer a gone watch with an ERROR event, as kube-apiserver does
	requests    int           // every request, including refused ones
	proto       string        // the protocol of the last request, such as HTTP/2.0
	lists       int           // successful lists
	watchRVs    []string      // the resourceVersion of every watch that got past the checks
	changed     chan struct{} // closed and replaced when history grows
	kick        chan struct{} // closed and replaced to end the open watches
}

type change struct {
	rv   int
	line []byte
}

func newFakeAPI(t testing.TB, ns, svc string) *fakeAPI {
	t.Helper()
	a := &fakeAPI{
		t: t, ns: ns, svc: svc, stop: make(chan struct{}),
		rv: 100, objects: map[string][]byte{}, token: "token-1",
		changed: make(chan struct{}), kick: make(chan struct{}),
	}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.srv.EnableHTTP2 = true // as kube-apiserver
	a.srv.StartTLS()
	t.Cleanup(func() {
		close(a.stop)
		a.srv.Close()
	})
	return a
}

// api returns how a Watcher reaches the server, with the token from token.
func (a *fakeAPI) api(token func() (string, error)) endpointslices.API {
	return endpointslices.API{BaseURL: a.srv.URL, Client: a.srv.Client(), Token: token}
}

func (a *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests++
	a.proto = r.Proto
	token, forbid := a.token, a.forbid
	a.mu.Unlock()

	if want := "/apis/discovery.k8s.io/v1/namespaces/" + a.ns + "/endpointslices"; r.URL.Path != want {
		a.t.Errorf("request path = %q, want %q", r.URL.Path, want)
		writeStatus(w, http.StatusNotFound, "NotFound", "no such path")
		return
	}
	q := r.URL.Query()
	if got, want := q.Get("labelSelector"), "kubernetes.io/service-name="+a.svc; got != want {
		a.t.Errorf("labelSelector = %q, want %q", got, want)
		writeStatus(w, http.StatusBadRequest, "BadRequest", "wrong selector")
		return
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		a.t.Errorf("Accept = %q, want application/json", got)
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	if forbid {
		writeStatus(w, http.StatusForbidden, "Forbidden", `endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:`+a.ns+`:default" cannot list resource "endpointslices"`)
		return
	}
	if q.Get("watch") == "1" {
		a.watch(w, r)
		return
	}
	a.list(w)
}

func (a *fakeAPI) list(w http.ResponseWriter) {
	a.mu.Lock()
	a.lists++
	names := make([]string, 0, len(a.objects))
	for name := range a.objects {
		names = append(names, name)
	}
	slices.Sort(names)
	items := make([]json.RawMessage, 0, len(names))
	for _, name := range names {
		items = append(items, a.objects[name])
	}
	body := mustJSON(a.t, map[string]any{
		"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
		"metadata": map[string]any{"resourceVersion": strconv.Itoa(a.rv)},
		"items":    items,
	})
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (a *fakeAPI) watch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("allowWatchBookmarks") != "true" {
		a.t.Errorf("allowWatchBookmarks = %q, want true", q.Get("allowWatchBookmarks"))
	}
	if n, err := strconv.Atoi(q.Get("timeoutSeconds")); err != nil || n <= 0 {
		a.t.Errorf("timeoutSeconds = %q, want a positive number", q.Get("timeoutSeconds"))
	}
	from, err := strconv.Atoi(q.Get("resourceVersion"))
	if err != nil {
		a.t.Errorf("resourceVersion = %q, want a number from a list or an event", q.Get("resourceVersion"))
		writeStatus(w, http.StatusBadRequest, "BadRequest", "bad resourceVersion")
		return
	}
	a.mu.Lock()
	a.watchRVs = append(a.watchRVs, q.Get("resourceVersion"))
	gone, goneAsEvent, kick := from < a.compacted, a.goneAsEvent, a.kick
	msg := fmt.Sprintf("too old resource version: %d (%d)", from, a.compacted)
	a.mu.Unlock()

	if gone && !goneAsEvent {
		writeStatus(w, http.StatusGone, "Expired", msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	if gone {
		_, _ = w.Write(mustJSON(a.t, map[string]any{"type": "ERROR", "object": statusObject(http.StatusGone, "Expired", msg)}))
		return
	}
	flusher.Flush()
	for {
		a.mu.Lock()
		var lines [][]byte
		for _, c := range a.history {
			if c.rv > from {
				lines = append(lines, c.line)
				from = c.rv
			}
		}
		changed := a.changed
		a.mu.Unlock()
		for _, line := range lines {
			_, _ = w.Write(line)
		}
		flusher.Flush()
		select {
		case <-changed:
		case <-kick:
			return
		case <-a.stop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// record adds an event for obj, stamped with the next resourceVersion, to the history.
func (a *fakeAPI) record(typ string, obj map[string]any) {
	a.rv++
	obj["metadata"].(map[string]any)["resourceVersion"] = strconv.Itoa(a.rv)
	line := append(mustJSON(a.t, map[string]any{"type": typ, "object": obj}), '\n')
	a.history = append(a.history, change{rv: a.rv, line: line})
	close(a.changed)
	a.changed = make(chan struct{})
}

// put creates or replaces a slice, and sends ADDED or MODIFIED to the watches.
func (a *fakeAPI) put(s slice) {
	a.mu.Lock()
	defer a.mu.Unlock()
	typ := "MODIFIED"
	if _, ok := a.objects[s.name]; !ok {
		typ = "ADDED"
	}
	obj := s.object(a.ns, a.svc)
	a.record(typ, obj)
	a.objects[s.name] = mustJSON(a.t, obj)
}

// remove deletes a slice and sends DELETED to the watches.
func (a *fakeAPI) remove(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var obj map[string]any
	if err := json.Unmarshal(a.objects[name], &obj); err != nil {
		a.t.Fatalf("remove(%q): %v", name, err)
	}
	delete(a.objects, name)
	a.record("DELETED", obj)
}

// bookmark sends a BOOKMARK with a new resourceVersion.
func (a *fakeAPI) bookmark() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.record("BOOKMARK", map[string]any{"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1", "metadata": map[string]any{}})
}

// expire replaces a slice without telling any watch, and compacts the history, as if the
// watcher had been away longer than the server keeps events: only a new list shows it.
func (a *fakeAPI) expire(s slice) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rv++
	obj := s.object(a.ns, a.svc)
	obj["metadata"].(map[string]any)["resourceVersion"] = strconv.Itoa(a.rv)
	a.objects[s.name] = mustJSON(a.t, obj)
	a.compacted = a.rv
}

// kickWatches ends every open watch, as the server does at timeoutSeconds.
func (a *fakeAPI) kickWatches() {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.kick)
	a.kick = make(chan struct{})
}

// caughtUp ends the open watches and waits until the watcher watches again from the latest
// resourceVersion, which shows it has applied every event sent so far. A watch that starts
// from an earlier one (it was ended before it sent everything) is ended too.
func (a *fakeAPI) caughtUp(t testing.TB) {
	t.Helper()
	st := a.stats()
	seen := len(st.watchRVs)
	a.kickWatches()
	waitFor(t, "a watch from resourceVersion "+st.rv, func() bool {
		rvs := a.stats().watchRVs
		if len(rvs) > seen && rvs[len(rvs)-1] == st.rv {
			return true
		}
		if len(rvs) > seen {
			seen = len(rvs)
			a.kickWatches()
		}
		return false
	})
}

func (a *fakeAPI) setToken(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.token = token
}

func (a *fakeAPI) setForbidden(forbid bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forbid = forbid
}

func (a *fakeAPI) setGoneAsEvent(asEvent bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.goneAsEvent = asEvent
}

type apiStats struct {
	requests, lists int
	watchRVs        []string
	rv, proto       string
}

func (a *fakeAPI) stats() apiStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return apiStats{requests: a.requests, lists: a.lists, watchRVs: slices.Clone(a.watchRVs), rv: strconv.Itoa(a.rv), proto: a.proto}
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(statusObject(code, reason, msg))
}

func statusObject(code int, reason, msg string) map[string]any {
	return map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return b
}

// slice is an EndpointSlice as a test writes it; object turns it into the API's JSON.
type slice struct {
	name        string
	addressType string // "" means IPv4
	ports       []map[string]any
	endpoints   []map[string]any
}

func (s slice) object(ns, svc string) map[string]any {
	typ := s.addressType
	if typ == "" {
		typ = "IPv4"
	}
	return map[string]any{
		"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
		"metadata": map[string]any{
			"name": s.name, "namespace": ns,
			"labels": map[string]any{"kubernetes.io/service-name": svc, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
		},
		"addressType": typ,
		"ports":       s.ports,
		"endpoints":   s.endpoints,
	}
}

// tcp is a slice port; an empty name is left out, as for a Service's only, unnamed port.
func tcp(name string, n int) map[string]any {
	p := map[string]any{"port": n, "protocol": "TCP"}
	if name != "" {
		p["name"] = name
	}
	return p
}

func ready(addr string) map[string]any {
	return map[string]any{"addresses": []string{addr}, "conditions": map[string]any{"ready": true, "serving": true, "terminating": false}}
}

func notReady(addr string) map[string]any {
	return map[string]any{"addresses": []string{addr}, "conditions": map[string]any{"ready": false, "serving": false, "terminating": false}}
}

// terminating is a pod after SIGTERM: still serving while it drains, but never ready.
func terminating(addr string) map[string]any {
	return map[string]any{"addresses": []string{addr}, "conditions": map[string]any{"ready": false, "serving": true, "terminating": true}}
}

// noConditions is an endpoint whose readiness is unknown, which the API says to treat as ready.
func noConditions(addr string) map[string]any {
	return map[string]any{"addresses": []string{addr}}
}

// logBuffer collects a Watcher's JSON logs; it is safe for concurrent use.
type logBuffer struct{ servicetest.Buffer }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor polls cond until it holds. The deadline only guards against a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// addrs returns what Resolve answers, or the error's text.
func addrs(r endpointslices.Resolver) string {
	ep, err := r.Resolve(context.Background())
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.Join(ep.Addrs, " ")
}

// staticToken returns a Token func that always gives token.
func staticToken(token string) func() (string, error) {
	return func() (string, error) { return token, nil }
}
