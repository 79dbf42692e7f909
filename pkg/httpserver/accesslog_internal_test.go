package httpserver

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogSampler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := newLogSampler(2, slog.New(slog.NewJSONHandler(&buf, nil)))
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at     time.Duration
		status int
		want   bool
	}{
		{0, 200, true},
		{100 * time.Millisecond, 200, true},
		{200 * time.Millisecond, 404, false}, // third line of the second
		{300 * time.Millisecond, 503, true},  // 5xx: always
		{400 * time.Millisecond, 200, false},
		{1100 * time.Millisecond, 200, true}, // a new second
	}
	for i, s := range steps {
		if got := l.allow(t.Context(), t0.Add(s.at), s.status); got != s.want {
			t.Errorf("step %d: allow(+%v, %d) = %v, want %v", i, s.at, s.status, got, s.want)
		}
	}
	if got := buf.String(); strings.Count(got, `"msg":"access log sampled"`) != 1 || !strings.Contains(got, `"dropped":2`) {
		t.Errorf("log = %s, want one access log sampled line with dropped 2", got)
	}
	if unbounded := newLogSampler(0, nil); !unbounded.allow(t.Context(), t0, 200) {
		t.Error("allow with no bound = false, want true")
	}
}
