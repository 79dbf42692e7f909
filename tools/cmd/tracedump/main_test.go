package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// hangGuard only guards against a hang; nothing here asserts on time.
const hangGuard = 30 * time.Second

// syncBuffer is tracedump's stdout, read by the test while run writes.
type syncBuffer = servicetest.Buffer

func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("output never matched %s:\n%s", re, out.String())
	return nil
}

func TestPrintsExportedTraces(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"TRACEDUMP_ADDR=127.0.0.1:0", "TRACEDUMP_SETTLE=10ms"}, out) }()
	t.Cleanup(func() { cancel(); <-done })
	url := waitFor(t, out, regexp.MustCompile(`OTEL_EXPORTER_OTLP_ENDPOINT=(http://\S+)\n`))[1]

	tel, err := telemetry.New(t.Context(), "frontend", "dev", telemetry.Config{OTLPEndpoint: url, PodName: "frontend-1"})
	if err != nil {
		t.Fatalf("telemetry.New = %v", err)
	}
	tracer := tel.TracerProvider.Tracer("test")
	sctx, server := tracer.Start(t.Context(), "GET /", trace.WithSpanKind(trace.SpanKindServer))
	_, client := tracer.Start(sctx, "GET /", trace.WithSpanKind(trace.SpanKindClient))
	client.End()
	server.End()
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}

	id := server.SpanContext().TraceID().String()
	waitFor(t, out, regexp.MustCompile(`trace `+id+` \(2 spans\)\n`))
	want := "frontend (frontend-1) server GET / "
	if got := out.String(); !strings.Contains(got, "\n"+want) || !strings.Contains(got, "\n└─ frontend (frontend-1) client GET / ") {
		t.Errorf("output =\n%s\nwant the server span and the client span under it", got)
	}
}
