// Package otlptest is a tiny OTLP/HTTP trace receiver for loopback: the stand-in for an
// OpenTelemetry Collector in tests and in the local run.
//
// Point a service's OTEL_EXPORTER_OTLP_ENDPOINT at Receiver.URL and every span it exports
// arrives here, decoded from protobuf into plain Span values a test can assert on, or that
// Tree prints as a span tree. It exists so that the trace across the frontend and the
// backend can be checked for real (the exporter, the wire format, the propagation between
// two processes), not against an in-memory recorder, with nothing leaving the machine.
// It keeps everything in memory and never drops a span: it is for short runs only.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// maxBodyBytes bounds one export request; the SDK's batches are far smaller.
const maxBodyBytes = 32 << 20

// Span is one received span, with ids in lower-case hex as W3C traceparent and the logs
// write them.
type Span struct {
	// TraceID, SpanID and ParentSpanID identify the span; ParentSpanID is "" for a root.
	TraceID, SpanID, ParentSpanID string
	// Name is the span's name, such as "GET /".
	Name string
	// Kind is "server", "client", "internal", "producer" or "consumer".
	Kind string
	// Service is the service.name of the process that exported the span.
	Service string
	// Resource holds the exporting process's resource attributes (k8s.pod.name, ...).
	Resource map[string]string
	// Attrs holds the span's attributes, every value written as text (200, true, dns).
	Attrs map[string]string
	// Status is "unset", "ok" or "error".
	Status string
	// Start and End are when the span started and ended.
	Start, End time.Time
}

// Duration is how long the span lasted.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Receiver accepts OTLP/HTTP trace exports (protobuf, optionally gzip) on
// POST /v1/traces and keeps the spans. It is safe for concurrent use.
type Receiver struct {
	srv     *http.Server
	url     string
	served  chan error
	updated chan struct{}

	closeOnce sync.Once
	closeErr  error

	mu    sync.Mutex
	spans []Span
}

// Start listens on addr (such as "127.0.0.1:0" for a free port, or "127.0.0.1:4318") and
// serves until Close.
func Start(addr string) (*Receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	r := &Receiver{url: "http://" + ln.Addr().String(), served: make(chan error, 1), updated: make(chan struct{}, 1)}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { r.served <- r.srv.Serve(ln) }()
	return r, nil
}

// URL is the base URL to export to, for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds
// /v1/traces).
func (r *Receiver) URL() string { return r.url }

// Close stops the receiver at once, closing its connections; the spans received stay
// readable. It does not wait for exports in flight: callers stop the exporting services
// (which flushes them) before closing the receiver. Calling it again returns the same error.
func (r *Receiver) Close() error {
	r.closeOnce.Do(func() {
		r.closeErr = r.srv.Close()
		if err := <-r.served; !errors.Is(err, http.ErrServerClosed) {
			r.closeErr = errors.Join(r.closeErr, err)
		}
	})
	return r.closeErr
}

// Updated receives a value after spans arrive (at most one is pending), for a program that
// prints traces as they come.
func (r *Receiver) Updated() <-chan struct{} { return r.updated }

// Spans returns every span received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// Trace returns the spans of one trace, by start time.
func (r *Receiver) Trace(traceID string) []Span {
	var out []Span
	for _, s := range r.Spans() {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out
}

// ServeHTTP takes one export request, as an OpenTelemetry Collector's OTLP/HTTP receiver
// does, and answers with an empty (fully successful) export response.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.Error(w, "only POST /v1/traces", http.StatusNotFound)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "only application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxBodyBytes)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBodyBytes)
	}
	b, err := io.ReadAll(body)
	export := &collectortrace.ExportTraceServiceRequest{}
	if err != nil || proto.Unmarshal(b, export) != nil {
		http.Error(w, "bad export request", http.StatusBadRequest)
		return
	}
	r.add(decode(export))
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *Receiver) add(spans []Span) {
	r.mu.Lock()
	r.spans = append(r.spans, spans...)
	r.mu.Unlock()
	select {
	case r.updated <- struct{}{}:
	default:
	}
}

// decode flattens an export request into Spans.
func decode(export *collectortrace.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range export.GetResourceSpans() {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out = append(out, Span{
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Name:         s.GetName(),
					Kind:         strings.ToLower(strings.TrimPrefix(s.GetKind().String(), "SPAN_KIND_")),
					Service:      res["service.name"],
					Resource:     res,
					Attrs:        attrs(s.GetAttributes()),
					Status:       strings.ToLower(strings.TrimPrefix(s.GetStatus().GetCode().String(), "STATUS_CODE_")),
					Start:        time.Unix(0, int64(s.GetStartTimeUnixNano())),
					End:          time.Unix(0, int64(s.GetEndTimeUnixNano())),
				})
			}
		}
	}
	return out
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = text(kv.GetValue())
	}
	return m
}

// text writes an attribute value the way a person would read it.
func text(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, text(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *commonpb.AnyValue_KvlistValue:
		var parts []string
		for _, kv := range x.KvlistValue.GetValues() {
			parts = append(parts, kv.GetKey()+"="+text(kv.GetValue()))
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	return ""
}
