package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// TestWithoutEndpointMakesIDsOnly checks what a service without a collector gets: spans that
// record nothing but have the ids and the sampling decision the SDK would have given them, so
// logs and downstream services see the same trace as before.
func TestWithoutEndpointMakesIDsOnly(t *testing.T) {
	t.Parallel()
	const (
		parentTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
		sampledParent = "00-" + parentTrace + "-00f067aa0ba902b7-01"
		droppedParent = "00-" + parentTrace + "-00f067aa0ba902b7-00"
	)
	tests := []struct {
		name        string
		sampler     string
		traceparent string // the incoming request's; "" for a root span
		newRoot     bool
		wantParent  bool // the span continues the parent's trace
		wantSampled bool
	}{
		{name: "root, default sampler", wantSampled: true},
		{name: "root, always_off", sampler: "always_off"},
		{name: "sampled parent", traceparent: sampledParent, wantParent: true, wantSampled: true},
		{name: "parent not sampled", traceparent: droppedParent, wantParent: true},
		{name: "parent not sampled, always_on", sampler: "always_on", traceparent: droppedParent, wantParent: true, wantSampled: true},
		{name: "new root ignores the parent", traceparent: droppedParent, newRoot: true, wantSampled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tel, err := telemetry.New(context.Background(), "frontend", "dev", telemetry.Config{Sampler: tt.sampler})
			if err != nil {
				t.Fatalf("New = %v", err)
			}
			ctx := context.Background()
			if tt.traceparent != "" {
				ctx = tel.Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": tt.traceparent})
			}
			var opts []trace.SpanStartOption
			if tt.newRoot {
				opts = append(opts, trace.WithNewRoot())
			}
			ctx, span := tel.TracerProvider.Tracer("test").Start(ctx, "work", opts...)
			defer span.End()
			sc := span.SpanContext()
			if !sc.IsValid() || span.IsRecording() {
				t.Errorf("span context %v valid %t, recording %t; want valid ids and no recording", sc, sc.IsValid(), span.IsRecording())
			}
			if got := sc.TraceID().String() == parentTrace; got != tt.wantParent {
				t.Errorf("span trace id %s continues the parent's: %t, want %t", sc.TraceID(), got, tt.wantParent)
			}
			if sc.IsSampled() != tt.wantSampled {
				t.Errorf("span sampled = %t, want %t", sc.IsSampled(), tt.wantSampled)
			}
			if !trace.SpanContextFromContext(ctx).Equal(sc) {
				t.Errorf("Start's context holds %v, want the span's %v", trace.SpanContextFromContext(ctx), sc)
			}
			_, child := tel.TracerProvider.Tracer("test").Start(ctx, "child")
			if child.SpanContext().TraceID() != sc.TraceID() || child.SpanContext().SpanID() == sc.SpanID() {
				t.Errorf("child span %v, want the trace %s with a span id of its own", child.SpanContext(), sc.TraceID())
			}
			if err := tel.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown() = %v, want nil", err)
			}
		})
	}
}

// BenchmarkStartWithoutEndpoint is the cost of a span on a service without a collector.
func BenchmarkStartWithoutEndpoint(b *testing.B) {
	tel, err := telemetry.New(context.Background(), "frontend", "dev", telemetry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	tracer := tel.TracerProvider.Tracer("bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, span := tracer.Start(ctx, "work", trace.WithSpanKind(trace.SpanKindServer))
		span.SetAttributes()
		span.End()
	}
}
