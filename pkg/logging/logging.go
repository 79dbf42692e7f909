// Package logging builds the JSON logger every service writes to stdout.
//
// Its one addition to log/slog is request correlation: a record logged with a context that
// carries a valid OpenTelemetry span gets trace_id and span_id attributes, so a log line can
// be joined with its trace without each call site passing the ids by hand.
package logging

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// New returns a logger writing one JSON object per line to w, dropping records below level.
// Records logged through the *Context methods (InfoContext, ErrorContext, ...) with a context
// holding a valid span get trace_id and span_id attributes.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(traceHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// traceHandler adds the ids of the span in the record's context. It wraps the handler rather
// than the logger so that loggers derived with With or WithGroup keep the behaviour.
type traceHandler struct {
	slog.Handler
}

// Handle adds trace_id and span_id when ctx carries a valid span, then writes the record.
func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		// The record may be shared with other handlers; adding to a clone leaves theirs alone.
		r = r.Clone()
		r.AddAttrs(
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()),
		)
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
