// Package telemetry sets up OpenTelemetry tracing for a service and hands the pieces to
// whoever needs them.
//
// Nothing is installed globally (no otel.SetTracerProvider): New returns a TracerProvider and
// a Propagator that the caller injects into the HTTP server and client, so tests build their
// own and run in parallel. Without an OTLP endpoint spans are still created with real trace
// and span ids, which the logs carry and requests propagate, but nothing is recorded or
// exported.
package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry is a service's tracing setup. The two exported fields are what instrumentation
// needs (otelhttp.WithTracerProvider, otelhttp.WithPropagators); the SDK behind them stays
// private so only Shutdown can stop it.
type Telemetry struct {
	// TracerProvider creates the service's spans.
	TracerProvider trace.TracerProvider
	// Propagator reads and writes W3C traceparent/tracestate and baggage headers.
	Propagator propagation.TextMapPropagator

	provider *sdktrace.TracerProvider // nil without an exporter
}

// New builds tracing for service at version from cfg: a resource naming the service, its
// version and (when known) its Kubernetes pod and namespace; the sampler chosen by cfg; and,
// when cfg.OTLPEndpoint is set, an OTLP/HTTP exporter behind a batch span processor (without
// one, a provider that makes ids and records nothing: see idsOnly). It connects to nothing yet, so a collector that is down does not stop the service from
// starting. The SDK itself still reads a few standard variables from the process environment
// (OTEL_RESOURCE_ATTRIBUTES, with the attributes set here taking precedence, and the
// exporter's OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and TLS settings); everything cfg holds
// comes from cfg alone.
func New(ctx context.Context, service, version string, cfg Config) (*Telemetry, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	sampler, err := newSampler(cfg.Sampler, cfg.SamplerArg)
	if err != nil {
		return nil, err
	}
	res, err := newResource(ctx, service, version, cfg)
	if err != nil {
		return nil, err
	}
	prop := canonicalHeaders{propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	if cfg.OTLPEndpoint == "" {
		// Nothing would ever read a recorded span: make the ids, record nothing.
		return &Telemetry{TracerProvider: newIDsOnly(sampler), Propagator: prop}, nil
	}
	url, err := tracesURL(cfg.OTLPEndpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url))
	if err != nil {
		return nil, fmt.Errorf("create otlp exporter: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithResource(res), sdktrace.WithBatcher(exp))
	return &Telemetry{TracerProvider: provider, Propagator: prop, provider: provider}, nil
}

// Shutdown exports the spans still queued and stops the exporter. Call it after the HTTP
// server has stopped, with a fresh deadline: the service's own context is already cancelled
// by then, and a cancelled context would drop the last spans.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.provider == nil {
		return nil // no exporter: nothing to flush
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown tracer provider: %w", err)
	}
	return nil
}

// newResource describes the process; empty Kubernetes fields are left out rather than sent
// as empty strings.
func newResource(ctx context.Context, service, version string, cfg Config) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{semconv.ServiceName(service), semconv.ServiceVersion(version)}
	if cfg.PodName != "" {
		attrs = append(attrs, semconv.K8SPodName(cfg.PodName))
	}
	if cfg.Namespace != "" {
		attrs = append(attrs, semconv.K8SNamespaceName(cfg.Namespace))
	}
	opts := []resource.Option{
		resource.WithSchemaURL(semconv.SchemaURL), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...),
	}
	res, err := resource.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("build resource: %w", err)
	}
	return res, nil
}
