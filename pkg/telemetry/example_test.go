package telemetry_test

import (
	"context"
	"fmt"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// ExampleNew sets up tracing from the environment the way a service does. With no
// OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported, but spans still get ids for the logs.
func ExampleNew() {
	cfg, err := config.Parse[telemetry.Config]([]string{"POD_NAME=backend-1", "POD_NAMESPACE=svc2svc"})
	if err != nil {
		fmt.Println(err)
		return
	}
	tel, err := telemetry.New(context.Background(), "backend", "v1.0.0", cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Shutdown(context.Background())

	_, span := tel.TracerProvider.Tracer("example").Start(context.Background(), "work")
	defer span.End()
	fmt.Println(span.SpanContext().IsValid(), span.SpanContext().IsSampled())
	// Output:
	// true true
}
