package httpserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	srv := start(t, testConfig(t, "MAX_BODY_BYTES=1024"), httpserver.Deps{}, testRoutes)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{"healthz", "GET", "/healthz", "", 200, `{"status":"ok"}`, nil},
		{"readyz", "GET", "/readyz", "", 200, `{"status":"ready"}`, nil},
		{"route with param", "GET", "/items/42", "", 200, `{"id":"42"}`, nil},
		{"unknown path", "GET", "/nope", "", 404, `{"error":"not found","status":404}`, nil},
		{"wrong method", "DELETE", "/items/42", "", 405, `{"error":"method not allowed","status":405}`,
			map[string]string{"Allow": "GET, HEAD"}},
		{"panic", "GET", "/panic", "", 500, `{"error":"internal error","status":500}`, nil},
		{"body within limit", "POST", "/upload", strings.Repeat("a", 1024), 200, `{"bytes":1024}`, nil},
		// Over 256 KB, what net/http reads after a handler to keep the connection.
		{"body over limit", "POST", "/upload", strings.Repeat("a", 300<<10), 413,
			`{"error":"request body too large","status":413}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, body := srv.do(t, tt.method, tt.path, strings.NewReader(tt.body), nil)
			if res.StatusCode != tt.wantStatus || strings.TrimSpace(body) != tt.wantBody {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, res.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s Content-Type = %q, want application/json", tt.method, tt.path, ct)
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Errorf("%s %s has no X-Request-Id header", tt.method, tt.path)
			}
			// After an oversized body the server closes rather than read the rest of it.
			if wantClose := tt.wantStatus == http.StatusRequestEntityTooLarge; res.Close != wantClose {
				t.Errorf("%s %s closes the connection: %v, want %v", tt.method, tt.path, res.Close, wantClose)
			}
			for k, want := range tt.wantHeader {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s %s header %s = %q, want %q", tt.method, tt.path, k, got, want)
				}
			}
		})
	}
}

func TestPanicIsLogged(t *testing.T) {
	t.Parallel()
	srv := start(t, testConfig(t), httpserver.Deps{}, testRoutes)
	res, body := srv.do(t, "GET", "/panic", nil, nil)
	if res.StatusCode != http.StatusInternalServerError || strings.Contains(body, "boom") || strings.Contains(body, "goroutine") {
		t.Errorf("GET /panic = %d %s, want 500 without the panic or a stack", res.StatusCode, body)
	}
	waitFor(t, "panic log line", func() bool { return len(srv.logs.lines("panic recovered")) > 0 })
	line := srv.logs.lines("panic recovered")[0]
	if line["level"] != "ERROR" || line["panic"] != "boom: secret detail" || !strings.Contains(line["stack"].(string), "goroutine") {
		t.Errorf("panic log line = %v, want level ERROR, the panic value and a stack", line)
	}
	waitFor(t, "access log line", func() bool { return len(srv.logs.lines("http request")) > 0 })
	if got := srv.logs.lines("http request")[0]["status"]; got != float64(500) {
		t.Errorf("access log status = %v, want 500", got)
	}
}

func TestHeadersTooLarge(t *testing.T) {
	t.Parallel()
	srv := start(t, testConfig(t, "MAX_HEADER_BYTES=1024"), httpserver.Deps{}, testRoutes)
	// net/http allows 4 KiB of slack over MaxHeaderBytes.
	res, _ := srv.do(t, "GET", "/healthz", nil, http.Header{"X-Big": {strings.Repeat("x", 16<<10)}})
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET /healthz with 16 KiB of headers = %d, want 431", res.StatusCode)
	}
}

func TestTracingAndAccessLog(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	deps := httpserver.Deps{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)),
		Propagator:     propagation.TraceContext{},
	}
	srv := start(t, testConfig(t), deps, testRoutes)

	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	res, _ := srv.do(t, "GET", "/items/42", nil, http.Header{
		"X-Request-Id": {"req-123"},
		"Traceparent":  {"00-" + parentTrace + "-00f067aa0ba902b7-01"},
	})
	if got := res.Header.Get("X-Request-Id"); got != "req-123" {
		t.Errorf("X-Request-Id = %q, want the caller's req-123", got)
	}
	srv.do(t, "GET", "/healthz", nil, nil)
	srv.do(t, "GET", "/readyz", nil, nil)
	srv.do(t, "GET", "/nope", nil, nil)

	waitFor(t, "4 access log lines", func() bool { return len(srv.logs.lines("http request")) == 4 })
	waitFor(t, "2 spans", func() bool { return len(rec.Ended()) >= 2 })
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans, want 2 (/items/42 and /nope; probes make none)", len(spans))
	}
	span := spans[0]
	if span.Name() != "GET /items/{id}" {
		t.Errorf("span name = %q, want %q", span.Name(), "GET /items/{id}")
	}
	if got := span.SpanContext().TraceID().String(); got != parentTrace {
		t.Errorf("span trace id = %s, want the caller's %s", got, parentTrace)
	}
	route := ""
	for _, kv := range span.Attributes() {
		if kv.Key == "http.route" {
			route = kv.Value.AsString()
		}
	}
	if route != "/items/{id}" {
		t.Errorf("span http.route = %q, want /items/{id}", route)
	}
	if name := spans[1].Name(); name != "GET" {
		t.Errorf("unmatched route span name = %q, want GET", name)
	}

	byPath := map[string]map[string]any{}
	for _, l := range srv.logs.lines("http request") {
		byPath[l["path"].(string)] = l
	}
	line := byPath["/items/42"]
	want := map[string]any{
		"level": "INFO", "method": "GET", "route": "/items/{id}", "status": float64(200), "request_id": "req-123",
		"trace_id": parentTrace, "span_id": span.SpanContext().SpanID().String(),
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("access log %s = %v, want %v", k, line[k], v)
		}
	}
	for _, k := range []string{"bytes", "duration_ms", "remote"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access log has no %s: %v", k, line)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if byPath[p]["level"] != "DEBUG" || byPath[p]["trace_id"] != nil {
			t.Errorf("access log for %s = %v, want DEBUG without trace_id", p, byPath[p])
		}
	}
}

func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	routes := func(r chi.Router) {
		r.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			httpserver.WriteJSON(w, http.StatusOK, map[string]string{"status": "done"})
		})
	}
	srv := start(t, testConfig(t, "DRAIN_DELAY=1s"), httpserver.Deps{}, routes)

	type result struct {
		status int
		body   string
	}
	slow := make(chan result, 1)
	go func() {
		res, err := srv.client.Get(srv.url + "/slow")
		if err != nil {
			slow <- result{body: err.Error()}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		slow <- result{res.StatusCode, strings.TrimSpace(string(b))}
	}()
	<-started
	srv.cancel()

	// During the drain the server still answers, but says it is going away.
	var readyz string
	waitFor(t, "/readyz to turn 503", func() bool {
		res, body := srv.do(t, "GET", "/readyz", nil, nil)
		readyz = strings.TrimSpace(body)
		return res.StatusCode == http.StatusServiceUnavailable
	})
	if readyz != `{"status":"shutting down"}` {
		t.Errorf("GET /readyz while draining = %s, want {\"status\":\"shutting down\"}", readyz)
	}
	if res, _ := srv.do(t, "GET", "/healthz", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz while draining = %d, want 200", res.StatusCode)
	}
	select {
	case err := <-srv.done:
		t.Fatalf("Run returned %v with a request in flight", err)
	default:
	}

	close(release)
	if got := <-slow; got.status != http.StatusOK || got.body != `{"status":"done"}` {
		t.Errorf("in-flight GET /slow = %d %s, want 200 {\"status\":\"done\"}", got.status, got.body)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("Run() = %v, want nil after a clean shutdown", err)
		}
		srv.done <- err // for the cleanup
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after the in-flight request finished")
	}
	for _, msg := range []string{"shutdown started", "server stopped"} {
		if len(srv.logs.lines(msg)) != 1 {
			t.Errorf("log has %d %q lines, want 1:\n%s", len(srv.logs.lines(msg)), msg, srv.logs.String())
		}
	}
}

func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	routes := func(r chi.Router) {
		r.Get("/stuck", func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-r.Context().Done() // released only when the server gives up on it
		})
	}
	srv := start(t, testConfig(t, "SHUTDOWN_TIMEOUT=50ms"), httpserver.Deps{}, routes)
	go func() {
		if res, err := srv.client.Get(srv.url + "/stuck"); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	srv.cancel()
	select {
	case err := <-srv.done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run() = %v, want a shutdown deadline error", err)
		}
		srv.done <- err
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after ShutdownTimeout")
	}
}

func TestReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	srv := start(t, testConfig(t, "READ_HEADER_TIMEOUT=100ms"), httpserver.Deps{}, testRoutes)
	got, closed := slowloris(t, srv.url)
	if !closed {
		t.Fatalf("server kept a connection with unfinished headers open")
	}
	if len(got) != 0 {
		t.Errorf("server answered unfinished headers with %q, want the connection closed", got)
	}
}

func TestRunListenError(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen = %v", err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)

	done := make(chan error, 1)
	go func() {
		done <- httpserver.New(testConfig(t, "PORT="+port), httpserver.Deps{}, nil).Run(context.Background())
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "listen on 127.0.0.1:"+port) {
			t.Errorf("Run on a taken port = %v, want a listen error", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run on a taken port did not return")
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		write      func(w http.ResponseWriter)
		wantStatus int
		wantBody   string
	}{
		{"value", func(w http.ResponseWriter) { httpserver.WriteJSON(w, 201, map[string]int{"n": 1}) }, 201, `{"n":1}`},
		{"error", func(w http.ResponseWriter) { httpserver.WriteError(w, 502, "backend unavailable") }, 502,
			`{"error":"backend unavailable","status":502}`},
		{"unencodable", func(w http.ResponseWriter) { httpserver.WriteJSON(w, 200, make(chan int)) }, 500,
			`{"error":"internal error","status":500}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			tt.write(rec)
			if rec.Code != tt.wantStatus || strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("response = %d %s, want %d %s", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}
