package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// collector is a loopback OTLP/HTTP receiver that keeps what it was sent.
type collector struct {
	mu       sync.Mutex
	paths    []string
	requests []*collectortrace.ExportTraceServiceRequest
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := &collectortrace.ExportTraceServiceRequest{}
	if err != nil || proto.Unmarshal(body, req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.paths = append(c.paths, r.URL.Path)
	c.requests = append(c.requests, req)
	c.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func TestNewExportsOnShutdown(t *testing.T) {
	t.Parallel()
	col := &collector{}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)

	cfg := telemetry.Config{OTLPEndpoint: srv.URL, PodName: "backend-7d9f-abc", Namespace: "svc2svc"}
	tel, err := telemetry.New(context.Background(), "backend", "v1.2.3", cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v, want nil", cfg, err)
	}
	_, span := tel.TracerProvider.Tracer("test").Start(context.Background(), "work")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown() = %v, want nil", err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 1 || col.paths[0] != "/v1/traces" {
		t.Fatalf("collector got %d requests at %q, want 1 at /v1/traces", len(col.requests), col.paths)
	}
	rs := col.requests[0].GetResourceSpans()
	if len(rs) != 1 {
		t.Fatalf("request has %d resource spans, want 1", len(rs))
	}
	attrs := map[string]string{}
	for _, kv := range rs[0].GetResource().GetAttributes() {
		attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	for k, want := range map[string]string{
		"service.name": "backend", "service.version": "v1.2.3",
		"k8s.pod.name": "backend-7d9f-abc", "k8s.namespace.name": "svc2svc",
	} {
		if attrs[k] != want {
			t.Errorf("resource attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	var names []string
	for _, ss := range rs[0].GetScopeSpans() {
		for _, s := range ss.GetSpans() {
			names = append(names, s.GetName())
		}
	}
	if len(names) != 1 || names[0] != "work" {
		t.Errorf("exported spans = %q, want [work]", names)
	}
}

func TestNewWithoutEndpoint(t *testing.T) {
	t.Parallel()
	tel, err := telemetry.New(context.Background(), "frontend", "dev", telemetry.Config{})
	if err != nil {
		t.Fatalf("New without endpoint = %v, want nil", err)
	}
	ctx, span := tel.TracerProvider.Tracer("test").Start(context.Background(), "work")
	if !span.SpanContext().IsValid() {
		t.Errorf("span context %v is not valid, want real ids for the logs", span.SpanContext())
	}
	span.End()

	carrier := propagation.MapCarrier{}
	tel.Propagator.Inject(ctx, carrier)
	if got := carrier.Get("traceparent"); !strings.Contains(got, span.SpanContext().TraceID().String()) {
		t.Errorf("traceparent = %q, want it to carry trace id %s", got, span.SpanContext().TraceID())
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown() = %v, want nil", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  telemetry.Config
		want string
	}{
		{"unknown sampler", telemetry.Config{Sampler: "sometimes"}, `OTEL_TRACES_SAMPLER: unknown sampler "sometimes"`},
		{"bad ratio", telemetry.Config{Sampler: "traceidratio", SamplerArg: "2"}, `OTEL_TRACES_SAMPLER_ARG: want a ratio between 0 and 1, got "2"`},
		{"endpoint without scheme", telemetry.Config{OTLPEndpoint: "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT: want an http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := telemetry.New(context.Background(), "backend", "dev", tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
			}
		})
	}
}

// TestConfigParse checks that config.Parse reports telemetry's bad variables with the rest.
func TestConfigParse(t *testing.T) {
	t.Parallel()
	environ := []string{"OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=-1", "OTEL_EXPORTER_OTLP_ENDPOINT=:4318"}
	_, err := config.Parse[telemetry.Config](environ)
	want := "invalid configuration:\n" +
		`  OTEL_EXPORTER_OTLP_ENDPOINT: want an http:// or https:// URL such as http://collector:4318, got ":4318"` + "\n" +
		`  OTEL_TRACES_SAMPLER_ARG: want a ratio between 0 and 1, got "-1"`
	if err == nil || err.Error() != want {
		t.Errorf("Parse(%q) = %v, want\n%s", environ, err, want)
	}

	cfg, err := config.Parse[telemetry.Config](nil)
	if err != nil || cfg.Sampler != "parentbased_always_on" {
		t.Errorf("Parse(nil) = %+v, %v, want the parentbased_always_on default", cfg, err)
	}
}
