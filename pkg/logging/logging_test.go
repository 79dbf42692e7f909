package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/logging"
)

var (
	traceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

func spanContext(ctx context.Context) context.Context {
	return trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		level     slog.Level
		log       func(l *slog.Logger)
		wantLines int
		want      map[string]any // expected keys; nil value means "must be absent"
	}{
		{
			name:      "span in context",
			log:       func(l *slog.Logger) { l.InfoContext(spanContext(context.Background()), "request done", "status", 200) },
			wantLines: 1,
			want: map[string]any{"msg": "request done", "level": "INFO", "status": float64(200),
				"trace_id": traceID.String(), "span_id": spanID.String()},
		},
		{
			name:      "no span",
			log:       func(l *slog.Logger) { l.InfoContext(context.Background(), "started") },
			wantLines: 1,
			want:      map[string]any{"msg": "started", "trace_id": nil, "span_id": nil},
		},
		{
			name: "invalid span context",
			log: func(l *slog.Logger) {
				ctx := trace.ContextWithSpanContext(context.Background(), trace.SpanContext{})
				l.InfoContext(ctx, "started")
			},
			wantLines: 1,
			want:      map[string]any{"trace_id": nil, "span_id": nil},
		},
		{
			name:      "derived logger keeps ids",
			log:       func(l *slog.Logger) { l.With("component", "x").WarnContext(spanContext(context.Background()), "slow") },
			wantLines: 1,
			want:      map[string]any{"component": "x", "level": "WARN", "trace_id": traceID.String()},
		},
		{
			name:      "below level dropped",
			level:     slog.LevelWarn,
			log:       func(l *slog.Logger) { l.InfoContext(spanContext(context.Background()), "noise") },
			wantLines: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tt.log(logging.New(&buf, tt.level))
			lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
			if buf.Len() == 0 {
				lines = nil
			}
			if len(lines) != tt.wantLines {
				t.Fatalf("logged %d lines, want %d:\n%s", len(lines), tt.wantLines, buf.String())
			}
			if tt.wantLines == 0 {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(lines[0], &got); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v, want nil", lines[0], err)
			}
			for k, want := range tt.want {
				v, ok := got[k]
				switch {
				case want == nil && ok:
					t.Errorf("line has %s = %v, want it absent", k, v)
				case want != nil && v != want:
					t.Errorf("line[%q] = %v, want %v", k, v, want)
				}
			}
		})
	}
}
