package endpointslices_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/endpointslices"
)

const (
	testNS  = "shop"
	testSvc = "backend-service"
)

// startWatcher runs a Watcher of a's Service until the end of the test.
func startWatcher(t *testing.T, a *fakeAPI, c endpointslices.Config, token func() (string, error)) (*endpointslices.Watcher, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	w := endpointslices.New(c, a.api(token), logs.logger())
	runUntilCleanup(t, w)
	return w, logs
}

// runUntilCleanup runs w until the end of the test, and checks that Run then returns nil.
func runUntilCleanup(t *testing.T, w *endpointslices.Watcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run() did not return after cancel")
		}
	})
}

func waitSynced(t *testing.T, w *endpointslices.Watcher) {
	t.Helper()
	select {
	case <-w.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("Synced() not closed")
	}
}

// waitAddrs waits until Resolve answers want ("error: ..." for an error).
func waitAddrs(t *testing.T, r endpointslices.Resolver, want string) {
	t.Helper()
	var got string
	waitFor(t, "Resolve() = "+want, func() bool {
		got = addrs(r)
		return got == want
	})
}

func cfg(portName string) endpointslices.Config {
	return endpointslices.Config{Service: testSvc, Namespace: testNS, PortName: portName}
}

const noReady = "error: resolve backend-service.shop: service not found: no ready endpoints"

func TestAddresses(t *testing.T) {
	t.Parallel()
	http8080 := []map[string]any{tcp("http", 8080)}
	tests := []struct {
		name     string
		portName string
		slices   []slice
		want     string
	}{
		{
			name:     "ready and unknown are used, sorted",
			portName: "http",
			slices: []slice{{name: "a", ports: http8080, endpoints: []map[string]any{
				ready("10.0.0.3"), noConditions("10.0.0.1"), ready("10.0.0.20"),
			}}},
			want: "10.0.0.1:8080 10.0.0.20:8080 10.0.0.3:8080",
		},
		{
			name:     "not ready and terminating are left out",
			portName: "http",
			slices: []slice{{name: "a", ports: http8080, endpoints: []map[string]any{
				ready("10.0.0.1"), notReady("10.0.0.2"), terminating("10.0.0.3"),
				{"addresses": []string{"10.0.0.4"}, "conditions": map[string]any{"ready": true, "terminating": true}},
			}}},
			want: "10.0.0.1:8080",
		},
		{
			name:     "port by name",
			portName: "http",
			slices: []slice{{name: "a", ports: []map[string]any{tcp("metrics", 9090), tcp("http", 8080)},
				endpoints: []map[string]any{ready("10.0.0.1")}}},
			want: "10.0.0.1:8080",
		},
		{
			name:   "no port name takes the only port",
			slices: []slice{{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}}},
			want:   "10.0.0.1:8080",
		},
		{
			name:   "no port name takes the unnamed port",
			slices: []slice{{name: "a", ports: []map[string]any{tcp("", 80)}, endpoints: []map[string]any{ready("10.0.0.1")}}},
			want:   "10.0.0.1:80",
		},
		{
			name: "no port name with two named ports finds none",
			slices: []slice{{name: "a", ports: []map[string]any{tcp("metrics", 9090), tcp("http", 8080)},
				endpoints: []map[string]any{ready("10.0.0.1")}}},
			want: noReady,
		},
		{
			name:     "a slice without the port gives nothing",
			portName: "grpc",
			slices:   []slice{{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}}},
			want:     noReady,
		},
		{
			name:     "a UDP port is not dialed",
			portName: "dns",
			slices: []slice{{name: "a", ports: []map[string]any{{"name": "dns", "port": 53, "protocol": "UDP"}},
				endpoints: []map[string]any{ready("10.0.0.1")}}},
			want: noReady,
		},
		{
			name:     "FQDN slices are skipped",
			portName: "http",
			slices: []slice{
				{name: "a", addressType: "FQDN", ports: http8080, endpoints: []map[string]any{ready("backend.example.com")}},
				{name: "b", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}},
			},
			want: "10.0.0.1:8080",
		},
		{
			name:     "IPv6",
			portName: "http",
			slices:   []slice{{name: "a", addressType: "IPv6", ports: http8080, endpoints: []map[string]any{ready("fd00::1")}}},
			want:     "[fd00::1]:8080",
		},
		{
			name:     "an address in two slices counts once",
			portName: "http",
			slices: []slice{
				{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1"), ready("10.0.0.2")}},
				{name: "b", ports: http8080, endpoints: []map[string]any{ready("10.0.0.2"), ready("10.0.0.3")}},
			},
			want: "10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:8080",
		},
		{
			name:     "addresses that are not an IP of the slice's family are skipped",
			portName: "http",
			slices: []slice{{name: "a", ports: http8080, endpoints: []map[string]any{
				ready("fd00::1"), ready("not-an-ip"), ready("10.0.0.1"), {"addresses": []string{}},
			}}},
			want: "10.0.0.1:8080",
		},
		{
			name:     "no slices",
			portName: "http",
			want:     noReady,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newFakeAPI(t, testNS, testSvc)
			for _, s := range tt.slices {
				a.put(s)
			}
			w, _ := startWatcher(t, a, cfg(tt.portName), staticToken("token-1"))
			waitSynced(t, w)
			if got := addrs(w); got != tt.want {
				t.Errorf("Resolve() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveBeforeSync(t *testing.T) {
	t.Parallel()
	w := endpointslices.New(cfg("http"), endpointslices.API{}, nil)
	_, err := w.Resolve(context.Background())
	if !errors.Is(err, discovery.ErrNotFound) {
		t.Errorf("Resolve() error = %v, want one matching discovery.ErrNotFound", err)
	}
	select {
	case <-w.Synced():
		t.Error("Synced() is closed before Run")
	default:
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	a.put(slice{name: "a", ports: []map[string]any{tcp("http", 8080)}, endpoints: []map[string]any{ready("10.0.0.1")}})
	w, logs := startWatcher(t, a, cfg("http"), staticToken("token-1"))
	waitSynced(t, w)
	ep, err := w.Resolve(context.Background())
	want := discovery.Endpoint{Source: endpointslices.SourceEndpointSlices, Name: "backend-service.shop", Addrs: []string{"10.0.0.1:8080"}}
	if err != nil || ep.Source != want.Source || ep.Name != want.Name || strings.Join(ep.Addrs, " ") != "10.0.0.1:8080" {
		t.Errorf("Resolve() = %+v, %v, want %+v, nil", ep, err, want)
	}
	if got := logs.String(); !strings.Contains(got, `"msg":"ready endpoints changed"`) || !strings.Contains(got, `"endpoints":1`) {
		t.Errorf("logs = %s, want an endpoints changed line with endpoints 1", got)
	}
}

func TestWatchEvents(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	http8080 := []map[string]any{tcp("http", 8080)}
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}})
	w, _ := startWatcher(t, a, cfg("http"), staticToken("token-1"))
	waitAddrs(t, w, "10.0.0.1:8080")

	a.put(slice{name: "b", ports: http8080, endpoints: []map[string]any{notReady("10.0.0.2")}})
	a.put(slice{name: "b", ports: http8080, endpoints: []map[string]any{ready("10.0.0.2")}})
	waitAddrs(t, w, "10.0.0.1:8080 10.0.0.2:8080") // ADDED not ready, then MODIFIED ready

	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{terminating("10.0.0.1")}})
	waitAddrs(t, w, "10.0.0.2:8080") // MODIFIED: the pod is shutting down

	a.remove("a")
	a.remove("b")
	waitAddrs(t, w, noReady) // DELETED
	a.put(slice{name: "c", ports: http8080, endpoints: []map[string]any{ready("10.0.0.3")}})
	waitAddrs(t, w, "10.0.0.3:8080")
}

// TestGeneration checks that only a change of the ready addresses gives a new Generation,
// since httpclient forgets which addresses failed to connect when it sees one.
func TestGeneration(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	http8080 := []map[string]any{tcp("http", 8080)}
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1"), ready("10.0.0.2")}})
	w, _ := startWatcher(t, a, cfg("http"), staticToken("token-1"))
	waitSynced(t, w)
	before, err := w.Resolve(context.Background())
	if err != nil {
		t.Fatalf("Resolve() error = %v", err)
	}

	a.bookmark()
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.2"), ready("10.0.0.1"), notReady("10.0.0.9")}})
	a.put(slice{name: "b", ports: []map[string]any{tcp("metrics", 9090)}, endpoints: []map[string]any{ready("10.0.0.3")}})
	a.put(slice{name: "c", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}})
	a.caughtUp(t)
	after, err := w.Resolve(context.Background())
	if err != nil {
		t.Fatalf("Resolve() error = %v", err)
	}
	if before.Generation == 0 || after.Generation != before.Generation || !slices.Equal(after.Addrs, before.Addrs) {
		t.Errorf("Resolve() = %v (generation %d), want the same answer %v (generation %d, not 0)", after.Addrs, after.Generation, before.Addrs, before.Generation)
	}

	a.put(slice{name: "c", ports: http8080, endpoints: []map[string]any{ready("10.0.0.4")}})
	waitAddrs(t, w, "10.0.0.1:8080 10.0.0.2:8080 10.0.0.4:8080")
	if changed, _ := w.Resolve(context.Background()); changed.Generation <= before.Generation {
		t.Errorf("Resolve() after a change has generation %d, want more than %d", changed.Generation, before.Generation)
	}
}

func TestRewatchFromLastResourceVersion(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	http8080 := []map[string]any{tcp("http", 8080)}
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}})
	w, _ := startWatcher(t, a, cfg("http"), staticToken("token-1"))
	waitSynced(t, w)
	listRV := a.stats().rv
	waitFor(t, "a watch from the list's resourceVersion", func() bool { return len(a.stats().watchRVs) == 1 })
	if got := a.stats().watchRVs[0]; got != listRV {
		t.Errorf("first watch from resourceVersion %s, want %s (the list's)", got, listRV)
	}

	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.2")}})
	a.bookmark()
	waitAddrs(t, w, "10.0.0.2:8080")
	last := a.stats().rv
	a.kickWatches() // the server ends the stream
	waitFor(t, "a second watch", func() bool { return len(a.stats().watchRVs) >= 2 })
	st := a.stats()
	if st.watchRVs[1] != last {
		t.Errorf("watch after the stream ended from resourceVersion %s, want %s (the last event's)", st.watchRVs[1], last)
	}
	if st.lists != 1 {
		t.Errorf("lists = %d, want 1: an ended stream is watched again, not listed", st.lists)
	}

	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.3")}})
	waitAddrs(t, w, "10.0.0.3:8080")
}

func TestRelistOnGone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		asEvent bool
	}{
		{name: "HTTP 410", asEvent: false},
		{name: "ERROR event 410", asEvent: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newFakeAPI(t, testNS, testSvc)
			a.setGoneAsEvent(tt.asEvent)
			http8080 := []map[string]any{tcp("http", 8080)}
			a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}})
			w, logs := startWatcher(t, a, cfg("http"), staticToken("token-1"))
			waitSynced(t, w)
			a.caughtUp(t)

			// The change is never sent as an event: only a list can show it.
			a.expire(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.2")}})
			a.kickWatches()
			waitAddrs(t, w, "10.0.0.2:8080")
			if got := a.stats().lists; got != 2 {
				t.Errorf("lists = %d, want 2", got)
			}
			if got := logs.String(); !strings.Contains(got, "endpointslices expired, listing again") {
				t.Errorf("logs = %s, want the relist logged", got)
			}
			a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.3")}})
			waitAddrs(t, w, "10.0.0.3:8080")
		})
	}
}

func TestForbiddenUntilAllowed(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	a.setForbidden(true)
	a.put(slice{name: "a", ports: []map[string]any{tcp("http", 8080)}, endpoints: []map[string]any{ready("10.0.0.1")}})
	w, logs := startWatcher(t, a, cfg("http"), staticToken("token-1"))

	waitFor(t, "three refused lists", func() bool { return a.stats().requests >= 3 })
	if got := logs.String(); !strings.Contains(got, `"level":"WARN"`) || !strings.Contains(got, "RBAC get, list and watch on endpointslices (discovery.k8s.io)") {
		t.Errorf("logs = %s, want a warning that names the RBAC permissions", got)
	}
	if _, err := w.Resolve(context.Background()); !errors.Is(err, discovery.ErrNotFound) {
		t.Errorf("Resolve() error = %v before any list, want one matching discovery.ErrNotFound", err)
	}

	a.setForbidden(false)
	waitSynced(t, w)
	waitAddrs(t, w, "10.0.0.1:8080")
}

func TestTokenReadOnEveryRequest(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	http8080 := []map[string]any{tcp("http", 8080)}
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}})
	var current atomic.Value
	current.Store("token-1")
	var calls atomic.Int64
	token := func() (string, error) {
		calls.Add(1)
		return current.Load().(string), nil
	}
	w, _ := startWatcher(t, a, cfg("http"), token)
	waitSynced(t, w)
	a.caughtUp(t)
	before := calls.Load()

	// The kubelet rotated the token: the old one is refused from now on.
	current.Store("token-2")
	a.setToken("token-2")
	a.kickWatches()
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.2")}})
	waitAddrs(t, w, "10.0.0.2:8080")
	if after := calls.Load(); after <= before {
		t.Errorf("Token called %d times in all after reconnecting, want more than %d", after, before)
	}
}

func TestTokenError(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	var fail atomic.Bool
	fail.Store(true)
	token := func() (string, error) {
		if fail.Load() {
			return "", errors.New("no service account token")
		}
		return "token-1", nil
	}
	w, logs := startWatcher(t, a, cfg("http"), token)
	waitFor(t, "the token failure logged", func() bool { return strings.Contains(logs.String(), "no service account token") })
	if got := a.stats().requests; got != 0 {
		t.Errorf("requests = %d without a token, want 0", got)
	}
	fail.Store(false)
	waitSynced(t, w)
}

func TestRunRejectsBadSetup(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	for _, tt := range []struct {
		name string
		cfg  endpointslices.Config
		api  endpointslices.API
	}{
		{name: "no service", cfg: endpointslices.Config{Namespace: testNS}, api: a.api(nil)},
		{name: "no namespace", cfg: endpointslices.Config{Service: testSvc}, api: a.api(nil)},
		{name: "no client", cfg: cfg(""), api: endpointslices.API{BaseURL: a.srv.URL}},
	} {
		if err := endpointslices.New(tt.cfg, tt.api, nil).Run(context.Background()); err == nil {
			t.Errorf("%s: Run() = nil, want an error", tt.name)
		}
	}

	w, _ := startWatcher(t, a, cfg(""), staticToken("token-1"))
	waitSynced(t, w)
	if err := w.Run(context.Background()); err == nil {
		t.Error("second Run() = nil, want an error")
	}
}
