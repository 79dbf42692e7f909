package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// errBadAnswer means the backend was reached but did not answer with its identity.
var errBadAnswer = errors.New("backend answered with something other than its identity")

// identity is the frontend's view of the backend's answer. The frontend keeps its own copy of
// the contract instead of importing the backend, as a service in another repository would.
type identity struct {
	Service   string    `json:"service"`
	Pod       string    `json:"pod"`
	PodIP     string    `json:"pod_ip"`
	Namespace string    `json:"namespace"`
	Node      string    `json:"node"`
	Version   string    `json:"version"`
	Time      time.Time `json:"time"`
}

// found says how the backend was found, which address answered and over what: "http", or
// "https" when CLIENT_TLS_DIR makes the call check the backend's certificate.
type found struct {
	Source string `json:"source"`
	Name   string `json:"name"`
	Addr   string `json:"addr"`
	Scheme string `json:"scheme"`
}

// callView is what the frontend shows about one successful call.
type callView struct {
	Backend   identity `json:"backend"`
	Discovery found    `json:"discovery"`
	Attempts  int      `json:"attempts"`
	LatencyMS float64  `json:"latency_ms"`
	TraceID   string   `json:"trace_id"`
	// endpoint is the resolution the call used, for /api/live's list of addresses.
	endpoint discovery.Endpoint
	// Client is who called the frontend, as it was told (client.go); nil in the one-shot mode.
	Client *clientView `json:"client,omitempty"`
}

// backendCaller calls the backend's GET / and turns the result into a callView.
type backendCaller struct {
	client *httpclient.Client
	// fresh, when set, makes the calls that want a connection of their own. Its transport
	// keeps no connections, so such a call never takes an idle one from client's pool (and
	// closes it), which would move the pool's calls to another pod behind a ClusterIP.
	fresh *httpclient.Client
	// maxConnAge is CLIENT_MAX_CONN_AGE, for /api/live's hint.
	maxConnAge time.Duration
	pods       *podCaller // calls one pod by name (GET /api/pod/{name}); nil without PODS_SERVICE
}

func newBackendCaller(client *httpclient.Client) *backendCaller {
	return &backendCaller{client: client}
}

// freshConnection asks for a connection of the call's own, closed after the answer.
var freshConnection = http.Header{"Connection": {"close"}}

// call makes one call (with the client's retries) and reports what happened. With fresh, the
// call gets a new connection instead of a pooled keep-alive one, so a ClusterIP Service's
// kube-proxy picks a backend pod for it afresh.
func (b *backendCaller) call(ctx context.Context, fresh bool) (callView, error) {
	start := time.Now()
	var header http.Header
	if fresh {
		header = freshConnection
	}
	client := b.client
	if fresh && b.fresh != nil {
		client = b.fresh
	}
	res, err := client.Do(ctx, http.MethodGet, "/", nil, header)
	view := callView{
		LatencyMS: float64(time.Since(start).Microseconds()) / 1000,
		TraceID:   traceID(ctx),
	}
	if err != nil {
		return view, err
	}
	view.Attempts = res.Attempts
	view.endpoint = res.Endpoint
	view.Discovery = found{Source: string(res.Endpoint.Source), Name: res.Endpoint.Name, Addr: res.Addr, Scheme: res.Scheme}
	if res.Status != 200 {
		return view, &answerError{status: res.Status, addr: res.Addr, attempts: res.Attempts, err: errBadAnswer}
	}
	if err := json.Unmarshal(res.Body, &view.Backend); err != nil || view.Backend.Pod == "" {
		return view, &answerError{status: res.Status, addr: res.Addr, attempts: res.Attempts, err: errBadAnswer}
	}
	return view, nil
}

// answerError is a backend that was reached but answered wrongly (a 4xx or 500, or a body
// that is not an identity).
type answerError struct {
	status   int
	addr     string
	attempts int
	err      error
}

func (e *answerError) Error() string {
	return fmt.Sprintf("backend at %s answered %d after %d attempt(s): %v", e.addr, e.status, e.attempts, e.err)
}

func (e *answerError) Unwrap() error { return e.err }

// traceID returns the id of the trace ctx belongs to, so a user can go from an answer to the
// trace and the logs; empty when there is none.
func traceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// annotate puts on the request's server span what the call to the backend found: which pod
// answered, at which address, how it was found and after how many attempts. The attempt
// spans below it carry the address and source too, but only the answer names the pod, and
// only once they have ended; on the server span a trace search for backend.pod finds the
// requests a given pod served. Empty values are left out.
func annotate(ctx context.Context, source, addr, pod string, attempts int) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{attribute.Int("httpclient.attempts", attempts)}
	for _, kv := range []attribute.KeyValue{
		attribute.String("discovery.source", source),
		attribute.String("backend.address", addr),
		attribute.String("backend.pod", pod),
	} {
		if kv.Value.AsString() != "" {
			attrs = append(attrs, kv)
		}
	}
	span.SetAttributes(attrs...)
}
