package httpserver_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// observed is a fake httpserver.Observer that keeps "METHOD route status" per request.
type observed struct {
	mu   sync.Mutex
	seen []string
}

func (o *observed) ObserveRequest(route, method string, status int, d time.Duration) {
	if d < 0 {
		panic("negative duration")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, fmt.Sprintf("%s %q %d", method, route, status))
}

func (o *observed) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Sorted(slices.Values(o.seen))
}

func TestObserverAndMetricsEndpoint(t *testing.T) {
	t.Parallel()
	obs := &observed{}
	rec := tracetest.NewSpanRecorder()
	deps := httpserver.Deps{
		Observer:       obs,
		MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "metrics here") }),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)),
	}
	srv := start(t, testConfig(t), deps, testRoutes)

	// /metrics is on the admin port only, so a public port (a NodePort) never publishes it.
	if res, body := srv.do(t, "GET", "/metrics", nil, nil); res.StatusCode != http.StatusNotFound || !strings.Contains(body, `"error"`) {
		t.Errorf("GET /metrics on the public port = %d %q, want a JSON 404", res.StatusCode, body)
	}
	adminURL := <-srv.admin
	res, err := srv.client.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics = %v", adminURL, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "metrics here" {
		t.Errorf("GET /metrics on the admin port = %d %q, want 200 from the MetricsHandler", res.StatusCode, body)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/items/42"}, {"GET", "/items/43"}, {"GET", "/nope"}, {"GET", "/panic"},
		{"BREW", "/items/42"}, {"GET", "/healthz"}, {"GET", "/readyz"},
	} {
		srv.do(t, r.method, r.path, nil, nil)
	}
	// A method outside the standard ones is counted as _OTHER, so it cannot create series.
	want := []string{`GET "" 404`, `GET "/items/{id}" 200`, `GET "/items/{id}" 200`, `GET "/panic" 500`, `_OTHER "" 405`}
	// The observer runs after the response is written: wait for the last request's turn.
	waitFor(t, "5 observed requests", func() bool { return len(obs.get()) >= len(want) })
	if got := obs.get(); !slices.Equal(got, want) {
		t.Errorf("observed %q, want %q (probes and /metrics left out)", got, want)
	}

	waitFor(t, "5 spans", func() bool { return len(rec.Ended()) >= 5 })
	for _, s := range rec.Ended() {
		if s.Name() == "GET /metrics" || s.Name() == "GET /healthz" {
			t.Errorf("span %q recorded, want none for /metrics and the probes", s.Name())
		}
	}
}

func TestNoMetricsHandler(t *testing.T) {
	t.Parallel()
	srv := start(t, testConfig(t), httpserver.Deps{}, testRoutes)
	if res, _ := srv.do(t, "GET", "/metrics", nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without a MetricsHandler = %d, want 404", res.StatusCode)
	}
	select {
	case addr := <-srv.admin:
		t.Errorf("admin port %s opened, want none without a MetricsHandler", addr)
	default:
	}
}
