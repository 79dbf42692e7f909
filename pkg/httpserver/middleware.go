package httpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// nameSpan renames the server span to "METHOD /route/{pattern}" once routing is done.
// otelhttp starts the span before chi has matched a route, and a name holding the raw path
// (/items/42) would make one span name per id.
func nameSpan(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		pattern := chi.RouteContext(r.Context()).RoutePattern()
		if pattern == "" {
			return // unmatched: keep otelhttp's name, which is the method alone
		}
		span := trace.SpanFromContext(r.Context())
		span.SetName(r.Method + " " + pattern)
		span.SetAttributes(semconv.HTTPRoute(pattern))
	})
}

// middleware is the router-wide stack, outermost first. The request id comes before the
// access log so every line carries it; the refusals (413, 400) come after the access log and
// the recoverer so they are logged and counted like any answer; GetHead comes last, because it
// routes a HEAD as the GET of the same path, which /healthz, /readyz, / and every other GET
// route then answer without a body (net/http drops it).
func (s *Server) middleware() []func(http.Handler) http.Handler {
	mw := []func(http.Handler) http.Handler{
		nameSpan, requestID, secureHeaders, s.accessLog, s.recoverer,
		refuseLargeBody(s.cfg.MaxBodyBytes), refuseBadQuery,
	}
	if s.cfg.mutualTLS() && len(s.cfg.AllowedClients) > 0 {
		mw = append(mw, s.refuseIdentity(s.cfg.AllowedClients))
	}
	return append(mw, middleware.GetHead)
}

// accessLog writes one line per request and reports it to the Observer. It logs with the
// request's context, so the line carries the trace_id and span_id of the request's span. It
// logs from a defer so that a request aborted by a panic is logged and counted too.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		defer func() {
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK // nothing written: net/http sends 200
			}
			elapsed := time.Since(start)
			route := chi.RouteContext(r.Context()).RoutePattern()
			level := slog.LevelInfo
			if isProbe(r.URL.Path) {
				level = slog.LevelDebug
			} else if s.observer != nil {
				s.observer.ObserveRequest(route, methodLabel(r.Method), status, elapsed)
			}
			s.logger.LogAttrs(r.Context(), level, "http request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("request_id", middleware.GetReqID(r.Context())),
				slog.String("remote", r.RemoteAddr),
			)
		}()
		next.ServeHTTP(ww, r)
	})
}

// recoverer turns a panicking handler into a logged error and a generic 500, so one bad
// request neither kills the process nor shows the client a stack trace.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // a deliberate abort: net/http closes the connection quietly
			}
			s.logger.ErrorContext(r.Context(), "panic recovered",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
				// Part of the response is out: a 500 can no longer be sent, and ending
				// normally would pass the truncated body off as complete. Abort instead.
				panic(http.ErrAbortHandler)
			}
			WriteError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps every request body. It wraps the whole stack rather than sitting next to
// the handlers because http.MaxBytesReader must be given net/http's own ResponseWriter (not
// a middleware's wrapper) to make the server close the connection after an oversized body
// instead of reading the rest of it.
func limitBody(limit int64, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}
