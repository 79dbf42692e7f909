package otlptest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/svc2svc/svc2svc/pkg/otlptest"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

func start(t *testing.T) *otlptest.Receiver {
	t.Helper()
	rcv, err := otlptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start = %v", err)
	}
	t.Cleanup(func() { rcv.Close() })
	return rcv
}

// TestReceivesWhatTelemetryExports sends spans through the real exporter.
func TestReceivesWhatTelemetryExports(t *testing.T) {
	t.Parallel()
	rcv := start(t)
	tel, err := telemetry.New(t.Context(), "backend", "v1", telemetry.Config{OTLPEndpoint: rcv.URL(), PodName: "backend-1"})
	if err != nil {
		t.Fatalf("telemetry.New = %v", err)
	}
	tracer := tel.TracerProvider.Tracer("test")
	ctx, parent := tracer.Start(t.Context(), "GET /", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tracer.Start(ctx, "GET /", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.Int("httpclient.attempt", 1), attribute.String("discovery.source", "dns")))
	child.End()
	parent.End()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(shutdownCtx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}

	spans := rcv.Trace(parent.SpanContext().TraceID().String())
	if len(spans) != 2 {
		t.Fatalf("Trace(%s) has %d spans, want 2", parent.SpanContext().TraceID(), len(spans))
	}
	p, c := spans[0], spans[1]
	if p.SpanID != parent.SpanContext().SpanID().String() || p.ParentSpanID != "" || p.Kind != "server" {
		t.Errorf("parent span = %+v, want the server span %s without a parent", p, parent.SpanContext().SpanID())
	}
	if c.ParentSpanID != p.SpanID || c.Kind != "client" || c.Attrs["httpclient.attempt"] != "1" || c.Attrs["discovery.source"] != "dns" {
		t.Errorf("child span = %+v, want a client span under %s with its attributes", c, p.SpanID)
	}
	if c.Service != "backend" || c.Resource["k8s.pod.name"] != "backend-1" || c.Duration() < 0 {
		t.Errorf("child span service %q, resource %v, duration %v; want backend, pod backend-1", c.Service, c.Resource, c.Duration())
	}
	if got := len(rcv.Spans()); got != 2 {
		t.Errorf("Spans() has %d spans, want 2", got)
	}
	select {
	case <-rcv.Updated():
	default:
		t.Errorf("Updated() has nothing pending after an export")
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	rcv := start(t)
	export, _ := proto.Marshal(&collectortrace.ExportTraceServiceRequest{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(export)
	_ = zw.Close()
	tests := []struct {
		name, method, path, contentType, encoding string
		body                                      []byte
		want                                      int
	}{
		{"protobuf", "POST", "/v1/traces", "application/x-protobuf", "", export, 200},
		{"gzip protobuf", "POST", "/v1/traces", "application/x-protobuf", "gzip", gz.Bytes(), 200},
		{"json", "POST", "/v1/traces", "application/json", "", []byte("{}"), 415},
		{"metrics", "POST", "/v1/metrics", "application/x-protobuf", "", export, 404},
		{"GET", "GET", "/v1/traces", "", "", nil, 404},
		{"garbage", "POST", "/v1/traces", "application/x-protobuf", "", []byte{0xff, 0xff}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, rcv.URL()+tt.path, bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s = %v", tt.method, tt.path, err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("%s %s (%s) = %d, want %d", tt.method, tt.path, tt.contentType, res.StatusCode, tt.want)
			}
		})
	}
}

func TestTree(t *testing.T) {
	t.Parallel()
	at := func(ms int) time.Time { return time.Unix(1700000000, 0).Add(time.Duration(ms) * time.Millisecond) }
	fe := map[string]string{"k8s.pod.name": "frontend-1"}
	spans := []otlptest.Span{
		{SpanID: "b", ParentSpanID: "s", Service: "frontend", Resource: fe, Kind: "client", Name: "GET /", Start: at(3), End: at(5),
			Status: "unset", Attrs: map[string]string{"http.response.status_code": "200", "httpclient.attempt": "2",
				"discovery.source": "dns", "network.peer.address": "10.0.0.2", "network.peer.port": "8080"}},
		{SpanID: "s", ParentSpanID: "caller", Service: "frontend", Resource: fe, Kind: "server", Name: "GET /", Start: at(0), End: at(6),
			Attrs: map[string]string{"http.response.status_code": "200", "httpclient.attempts": "2", "backend.pod": "backend-2",
				"network.peer.address": "10.0.0.9"}},
		{SpanID: "a", ParentSpanID: "s", Service: "frontend", Resource: fe, Kind: "client", Name: "GET /", Start: at(1), End: at(2),
			Status: "error", Attrs: map[string]string{"httpclient.attempt": "1", "error.type": "*net.OpError"}},
		{SpanID: "x", ParentSpanID: "b", Service: "backend", Resource: map[string]string{"k8s.pod.name": "backend-2"},
			Kind: "server", Name: "GET /", Start: at(4), End: at(5), Attrs: map[string]string{"http.response.status_code": "200"}},
	}
	want := `frontend (frontend-1) server GET / 6ms status=200 attempts=2 backend.pod=backend-2
├─ frontend (frontend-1) client GET / 1ms attempt=1 error=*net.OpError ERROR
└─ frontend (frontend-1) client GET / 2ms status=200 attempt=2 source=dns peer=10.0.0.2:8080
   └─ backend (backend-2) server GET / 1ms status=200
`
	if got := otlptest.Tree(spans); got != want {
		t.Errorf("Tree() =\n%s\nwant\n%s", got, want)
	}
}
