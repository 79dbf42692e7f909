package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// logSampler bounds the access log to perSecond lines in each second of the clock, the way
// zap's production logger samples (the first 100 of each second): at the rates people read
// logs at (a curl, `make load`'s 100/s spread over the pods) every request is logged, and a
// service under heavy load does not spend its CPU writing lines nobody reads (one JSON line
// and one write to stdout per request were about a quarter of the backend's CPU time under
// load: docs/results.md). Answers with a 5xx status are always logged, whatever the count. At the
// start of a second that follows one with lines left out, one "access log sampled" line says
// how many. The count is approximate under contention (a few more lines may pass); that is
// all a bound needs.
type logSampler struct {
	perSecond int64 // 0: no bound
	logger    *slog.Logger
	second    atomic.Int64 // the Unix second being counted
	lines     atomic.Int64 // lines counted in it
	dropped   atomic.Int64 // lines left out in it
}

func newLogSampler(perSecond int, logger *slog.Logger) *logSampler {
	return &logSampler{perSecond: int64(perSecond), logger: logger}
}

// allow reports whether the access log line of a request that started at now and was
// answered with status is written.
func (l *logSampler) allow(ctx context.Context, now time.Time, status int) bool {
	if l.perSecond <= 0 {
		return true
	}
	sec := now.Unix()
	if cur := l.second.Load(); sec > cur && l.second.CompareAndSwap(cur, sec) {
		l.lines.Store(0)
		if n := l.dropped.Swap(0); n > 0 {
			l.logger.LogAttrs(ctx, slog.LevelInfo, "access log sampled",
				slog.Int64("dropped", n), slog.Int64("per_second", l.perSecond))
		}
	}
	if status >= http.StatusInternalServerError || l.lines.Add(1) <= l.perSecond {
		return true
	}
	l.dropped.Add(1)
	return false
}
