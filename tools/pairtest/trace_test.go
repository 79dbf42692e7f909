package pairtest_test

import (
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
	"github.com/svc2svc/svc2svc/pkg/otlptest"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// The trace tests export to an OTLP/HTTP receiver on loopback, the way the services export to
// a collector in a cluster, and read back what crossed the wire. Telemetry is flushed when Run
// returns, so every service is stopped before the spans are read.

func startReceiver(t *testing.T) *otlptest.Receiver {
	t.Helper()
	rcv, err := otlptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("otlptest.Start: %v", err)
	}
	t.Cleanup(func() { rcv.Close() })
	return rcv
}

// stopAll stops the services, which flushes their spans to the receiver.
func stopAll(t *testing.T, services ...*servicetest.Service) {
	t.Helper()
	for _, s := range services {
		if err := s.Stop(); err != nil {
			t.Fatalf("Stop() = %v\nlogs:\n%s", err, s.Logs())
		}
	}
}

// byKind splits a trace's spans into the frontend's server span, its client spans (in start
// order) and the backend's server spans, failing the test when the shape is wrong.
func byKind(t *testing.T, spans []otlptest.Span) (server otlptest.Span, clients, backends []otlptest.Span) {
	t.Helper()
	var servers []otlptest.Span
	for _, s := range spans {
		switch {
		case s.Service == "frontend" && s.Kind == "server":
			servers = append(servers, s)
		case s.Service == "frontend" && s.Kind == "client":
			clients = append(clients, s)
		case s.Service == "backend" && s.Kind == "server":
			backends = append(backends, s)
		default:
			t.Errorf("unexpected span %s %s %q", s.Service, s.Kind, s.Name)
		}
	}
	if len(servers) != 1 {
		t.Fatalf("trace has %d frontend server spans, want 1:\n%s", len(servers), otlptest.Tree(spans))
	}
	return servers[0], clients, backends
}

// wantAttrs checks the attributes of span against want.
func wantAttrs(t *testing.T, what string, span otlptest.Span, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := span.Attrs[k]; !ok || got != v {
			t.Errorf("%s attribute %s = %q (set: %t), want %q", what, k, got, ok, v)
		}
	}
}

func TestTraceAcrossTheHop(t *testing.T) {
	t.Parallel()
	rcv := startReceiver(t)
	otel := "OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL()
	dns := startDNS(t)
	backends := threeBackends(t, dns, otel)
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", otel)

	var views []frontendView
	for range 3 {
		status, _, body := get(t, fe.URL+"/", "application/json")
		if status != http.StatusOK {
			t.Fatalf("GET / = %d %s, want 200", status, body)
		}
		views = append(views, decode[frontendView](t, body))
	}
	// Probes and scrapes make no spans, on either side.
	for _, s := range append([]*servicetest.Service{fe}, backends...) {
		for _, url := range []string{s.URL + "/healthz", s.URL + "/readyz", s.AdminURL + "/metrics"} {
			if status, _, _ := get(t, url, ""); status != http.StatusOK {
				t.Errorf("GET %s = %d, want 200", url, status)
			}
		}
	}
	stopAll(t, append([]*servicetest.Service{fe}, backends...)...)

	if n := len(rcv.Spans()); n != 3*len(views) {
		t.Errorf("received %d spans, want %d: 3 per request (frontend server, client, backend server) and none for probes or /metrics",
			n, 3*len(views))
	}
	for _, v := range views {
		spans := rcv.Trace(v.TraceID)
		t.Logf("trace %s:\n%s", v.TraceID, otlptest.Tree(spans))
		server, clients, bes := byKind(t, spans)
		if len(clients) != 1 || len(bes) != 1 {
			t.Fatalf("trace %s has %d client and %d backend spans, want 1 and 1", v.TraceID, len(clients), len(bes))
		}
		client, be := clients[0], bes[0]
		if server.ParentSpanID != "" || client.ParentSpanID != server.SpanID || be.ParentSpanID != client.SpanID {
			t.Errorf("trace %s links: server parent %q, client parent %q (server %s), backend parent %q (client %s); "+
				"want frontend server -> client -> backend server", v.TraceID, server.ParentSpanID, client.ParentSpanID,
				server.SpanID, be.ParentSpanID, client.SpanID)
		}
		host, port, _ := net.SplitHostPort(v.Discovery.Addr)
		wantAttrs(t, "frontend server span", server, map[string]string{
			"http.route": "/", "http.response.status_code": "200", "backend.pod": v.Backend.Pod,
			"backend.address": v.Discovery.Addr, "discovery.source": "dns", "httpclient.attempts": "1",
		})
		wantAttrs(t, "client span", client, map[string]string{
			"http.response.status_code": "200", "discovery.source": "dns", "httpclient.attempt": "1",
			"network.peer.address": host, "network.peer.port": port,
		})
		wantAttrs(t, "backend server span", be, map[string]string{"http.route": "/", "http.response.status_code": "200"})
		if server.Name != "GET /" || client.Name != "GET /" || be.Name != "GET /" {
			t.Errorf("span names %q, %q, %q; want GET / for each", server.Name, client.Name, be.Name)
		}
		if be.Resource["k8s.pod.name"] != v.Backend.Pod || server.Resource["k8s.pod.name"] != "frontend-test" {
			t.Errorf("pods of the spans = %q, %q; want %q (the pod that answered) and frontend-test",
				server.Resource["k8s.pod.name"], be.Resource["k8s.pod.name"], v.Backend.Pod)
		}
		checkLogs(t, fe, v.TraceID, server.SpanID)
		for _, b := range backends {
			if hasTrace(b, v.TraceID) {
				checkLogs(t, b, v.TraceID, be.SpanID)
			}
		}
	}
}

// hasTrace reports whether s logged a request of trace.
func hasTrace(s *servicetest.Service, trace string) bool {
	for _, l := range s.LogLines() {
		if l["msg"] == "http request" && l["trace_id"] == trace {
			return true
		}
	}
	return false
}

// checkLogs checks that s wrote exactly one access log line for trace, carrying the span id of
// its server span and a request id: the log line and the trace are one click apart.
func checkLogs(t *testing.T, s *servicetest.Service, trace, spanID string) {
	t.Helper()
	var lines []map[string]any
	for _, l := range s.LogLines() {
		if l["msg"] == "http request" && l["trace_id"] == trace {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d access log lines with trace_id %s, want 1", len(lines), trace)
	}
	if l := lines[0]; l["span_id"] != spanID || l["request_id"] == nil || l["request_id"] == "" {
		t.Errorf("access log line %v, want span_id %s and a request_id", l, spanID)
	}
}

// TestTraceShowsEachAttempt makes the first address refuse connections: the retried call is
// one server span with two client spans under it, and only the second reaches the backend.
func TestTraceShowsEachAttempt(t *testing.T) {
	t.Parallel()
	rcv := startReceiver(t)
	otel := "OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL()
	dns := startDNS(t)
	b := startBackend(t, "backend-live", otel)
	dead := closedPort(t)
	dns.SetA("dead.test.local", "127.0.0.1")
	dns.SetA("live.test.local", "127.0.0.1")
	deadPort, _ := strconv.Atoi(dead)
	dns.SetSRV("_http._tcp.backend-service",
		dnstest.SRV{Target: "dead.test.local", Port: uint16(deadPort)}, dnstest.SRV{Target: "live.test.local", Port: port(t, b.Addr)})
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", otel)

	// Calls start at the next address in turn, so one of the first two starts at the dead one.
	var retried frontendView
	for range 2 {
		status, _, body := get(t, fe.URL+"/", "application/json")
		if v := decode[frontendView](t, body); status == http.StatusOK && v.Attempts == 2 {
			retried = v
			break
		}
	}
	if retried.TraceID == "" {
		t.Fatal("no call of two made two attempts, want the one starting at the refusing address to")
	}
	stopAll(t, fe, b)

	spans := rcv.Trace(retried.TraceID)
	t.Logf("trace %s:\n%s", retried.TraceID, otlptest.Tree(spans))
	server, clients, bes := byKind(t, spans)
	if len(clients) != 2 || len(bes) != 1 {
		t.Fatalf("trace has %d client and %d backend spans, want 2 (one per attempt) and 1", len(clients), len(bes))
	}
	for i, c := range clients {
		if c.ParentSpanID != server.SpanID {
			t.Errorf("attempt %d parent = %s, want the frontend server span %s", i+1, c.ParentSpanID, server.SpanID)
		}
	}
	wantAttrs(t, "frontend server span", server, map[string]string{
		"httpclient.attempts": "2", "backend.pod": "backend-live", "http.response.status_code": "200",
	})
	wantAttrs(t, "first attempt", clients[0], map[string]string{"httpclient.attempt": "1", "network.peer.port": dead})
	if _, answered := clients[0].Attrs["http.response.status_code"]; answered || clients[0].Status != "error" {
		t.Errorf("first attempt status %q attrs %v, want an error without a response", clients[0].Status, clients[0].Attrs)
	}
	wantAttrs(t, "second attempt", clients[1], map[string]string{
		"httpclient.attempt": "2", "http.request.resend_count": "1", "http.response.status_code": "200",
		"network.peer.port": strconv.Itoa(int(port(t, b.Addr))),
	})
	if bes[0].ParentSpanID != clients[1].SpanID {
		t.Errorf("backend span parent = %s, want the second attempt %s", bes[0].ParentSpanID, clients[1].SpanID)
	}
}

// TestTraceSampling turns sampling off at the frontend: the backend's parent-based default
// follows the caller's decision, so nothing is exported by either, yet the trace id is still
// made, shown and propagated, and joins the two services' logs.
func TestTraceSampling(t *testing.T) {
	t.Parallel()
	rcv := startReceiver(t)
	otel := "OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL()
	dns := startDNS(t)
	b := startBackend(t, "backend-1", otel)
	dns.SetA("backend-1.test.local", "127.0.0.1")
	dns.SetSRV("_http._tcp.backend-service", dnstest.SRV{Target: "backend-1.test.local", Port: port(t, b.Addr)})
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", otel, "OTEL_TRACES_SAMPLER=always_off")

	status, _, body := get(t, fe.URL+"/", "application/json")
	if status != http.StatusOK {
		t.Fatalf("GET / = %d %s, want 200", status, body)
	}
	v := decode[frontendView](t, body)
	stopAll(t, fe, b)
	if spans := rcv.Spans(); len(spans) != 0 {
		t.Errorf("received %d spans with sampling off at the frontend, want none:\n%s", len(spans), otlptest.Tree(spans))
	}
	if !traceIDPattern.MatchString(v.TraceID) || !hasTrace(fe, v.TraceID) || !hasTrace(b, v.TraceID) {
		t.Errorf("trace id %q not in both access logs, want it made and propagated though not sampled", v.TraceID)
	}
}
