package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/logging"
)

// ExampleNew logs with a context that carries a span, as a request handler does, and shows
// the ids that join the line to its trace.
func ExampleNew() {
	var buf bytes.Buffer
	logger := logging.New(&buf, slog.LevelInfo)

	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	})
	logger.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "request done")

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(line["msg"], line["trace_id"], line["span_id"])
	// Output:
	// request done 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7
}
