package httpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the server spans.
const tracerName = "github.com/svc2svc/svc2svc/pkg/httpserver"

// middleware is the router-wide stack, outermost first. observe (the span, the access log and
// the metrics) comes first, so every answer below it is traced, logged and counted, the
// refusals (413, 400) and recovered panics included; GetHead comes last, because it routes a
// HEAD as the GET of the same path, which /healthz, /readyz, / and every other GET route then
// answer without a body (net/http drops it).
func (s *Server) middleware(tp trace.TracerProvider, prop propagation.TextMapPropagator) []func(http.Handler) http.Handler {
	mw := []func(http.Handler) http.Handler{
		s.observe(tp.Tracer(tracerName), prop), requestID, secureHeaders, s.recoverer,
		refuseLargeBody(s.cfg.MaxBodyBytes), refuseBadQuery,
	}
	if s.cfg.mutualTLS() && len(s.cfg.AllowedClients) > 0 {
		mw = append(mw, s.refuseIdentity(s.cfg.AllowedClients))
	}
	return append(mw, middleware.GetHead)
}

// observe is what the server records about each request: a server span (the caller's trace
// context extracted from the headers, named "METHOD /route/{pattern}" once chi has matched a
// route, so that ids do not make one name each), one access log line and the request's RED
// metrics (the Observer), all read from one response writer wrapper. Probes and /metrics get
// no span, no metrics and a log line at debug level only, so they do not drown real traffic.
//
// It does what otelhttp.NewHandler did, minus the work nothing here read: otelhttp computed
// about ten request attributes and its own HTTP metrics (recorded into a no-op meter, since the
// RED metrics are Prometheus's) for every request, and wrapped the writer and the body again,
// whether or not the span was recorded. Here the attributes are made only for a recording
// span (an exporter is set and the trace is sampled); the ids are made and propagated either
// way. That was about 30 of the backend's 80 allocations per request (BenchmarkPathAllocs in
// tools/pairtest; docs/results.md).
//
// It logs from a defer so that a request aborted by a panic is logged and counted too.
func (s *Server) observe(tracer trace.Tracer, prop propagation.TextMapPropagator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			probe := isProbe(r.URL.Path)
			span := trace.SpanFromContext(r.Context()) // none for probes
			if !probe {
				ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
				ctx, span = tracer.Start(ctx, methodLabel(r.Method), serverStart...)
				if span.IsRecording() {
					span.SetAttributes(requestAttributes(r)...)
				}
				r = r.WithContext(ctx)
			}
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK // nothing written: net/http sends 200
				}
				elapsed := time.Since(start)
				route := chi.RouteContext(r.Context()).RoutePattern()
				level := slog.LevelInfo
				if probe {
					level = slog.LevelDebug
				} else {
					if s.observer != nil {
						s.observer.ObserveRequest(route, methodLabel(r.Method), status, elapsed)
					}
					if span.IsRecording() {
						endSpan(span, r.Method, route, status)
					}
					span.End()
				}
				if !s.logger.Enabled(r.Context(), level) || !probe && !s.sampler.allow(r.Context(), start, status) {
					return
				}
				s.logger.LogAttrs(r.Context(), level, "http request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("route", route),
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
					slog.String("request_id", w.Header().Get(middleware.RequestIDHeader)),
					slog.String("remote", r.RemoteAddr),
				)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// serverStart are the start options of every server span, made once.
var serverStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// requestAttributes describe a request on its (recorded) server span, in the OpenTelemetry
// HTTP conventions' names.
func requestAttributes(r *http.Request) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(methodLabel(r.Method)),
		semconv.URLScheme(scheme),
		semconv.URLPath(r.URL.Path),
		semconv.NetworkProtocolVersion(strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)),
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	} else if r.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(r.Host))
	}
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.NetworkPeerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.NetworkPeerPort(p))
		}
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	return attrs
}

// endSpan names a recorded span after the route chi matched and records the answer's status;
// a 5xx marks the span as an error, as the HTTP conventions say for servers. Unmatched
// requests keep the method alone as their name.
func endSpan(span trace.Span, method, route string, status int) {
	if route != "" {
		span.SetName(method + " " + route)
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, "")
	}
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
// instead of reading the rest of it. A request without a body (net/http gives it
// http.NoBody) has nothing to cap.
func limitBody(limit int64, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}
