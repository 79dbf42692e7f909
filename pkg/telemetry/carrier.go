package telemetry

import (
	"context"
	"net/http"
	"net/textproto"

	"go.opentelemetry.io/otel/propagation"
)

// canonicalHeaders is a propagator that hands the one it wraps a carrier of HTTP headers
// which looks its keys up in canonical form without making it anew. The W3C and baggage
// propagators ask for "traceparent", "tracestate" and "baggage"; propagation.HeaderCarrier
// passes them to http.Header, which makes the canonical form ("Traceparent") as a new string
// on every call, since net/http knows only the common headers' forms by heart: a few
// allocations per request and per call, for each service, on the hot path. What is read and
// written is the same.
type canonicalHeaders struct {
	propagation.TextMapPropagator
}

// Inject writes ctx's trace context into carrier.
func (p canonicalHeaders) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	p.TextMapPropagator.Inject(ctx, canonical(carrier))
}

// Extract reads the trace context in carrier into ctx.
func (p canonicalHeaders) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	return p.TextMapPropagator.Extract(ctx, canonical(carrier))
}

func canonical(carrier propagation.TextMapCarrier) propagation.TextMapCarrier {
	if h, ok := carrier.(propagation.HeaderCarrier); ok {
		return headerCarrier{h}
	}
	return carrier
}

// headerCarrier is propagation.HeaderCarrier with the propagators' keys in canonical form.
type headerCarrier struct {
	propagation.HeaderCarrier
}

// canonicalKey returns the canonical form of the propagators' header keys without
// allocating, and of any other key as net/http makes it.
func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return textproto.CanonicalMIMEHeaderKey(key)
}

// Get returns the first value of key.
func (c headerCarrier) Get(key string) string {
	if v := http.Header(c.HeaderCarrier)[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of key.
func (c headerCarrier) Values(key string) []string {
	return http.Header(c.HeaderCarrier)[canonicalKey(key)]
}

// Set replaces the values of key with value.
func (c headerCarrier) Set(key, value string) {
	http.Header(c.HeaderCarrier)[canonicalKey(key)] = []string{value}
}
