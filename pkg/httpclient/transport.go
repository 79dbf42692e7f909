package httpclient

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// defaultTransport returns the transport New uses when Deps.Transport is nil: a clone of
// http.DefaultTransport that never uses a proxy (service-to-service calls must not leave
// through HTTP_PROXY, which is meant for the outside world) and keeps enough idle
// connections per backend pod for a busy frontend. Its connects give up after connectTimeout
// (see Config.ConnectTimeout). With tlsCfg it speaks HTTPS, HTTP/1.1 only: the balancing
// and Config.MaxConnAge work per connection, which HTTP/2's one multiplexed connection per
// address would defeat. Each call returns a new transport, so clients do not share a pool.
func defaultTransport(connectTimeout time.Duration, tlsCfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	// The default of 2 idle connections per host would make a busy caller open and close
	// a connection for most requests.
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	t.IdleConnTimeout = 90 * time.Second
	// Dated connections let Config.MaxConnAge retire old ones (see ageLimit).
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	t.DialContext = dateConns(d.DialContext)
	if tlsCfg != nil {
		t.TLSClientConfig = tlsCfg
		t.ForceAttemptHTTP2 = false
	}
	return t
}

// attemptKey is the context key under which the client tells the transport which attempt a
// request is.
type attemptKey struct{}

// attemptInfo describes one attempt, for its span: its number, how the address was found,
// and the address.
type attemptInfo struct {
	n      int
	source discovery.Source
	name   string
	addr   string
}

// tagAttempts sits under otelhttp, where the attempt's span is already in the request's
// context, and adds what otelhttp cannot know: how the address was found and which attempt
// this is, so a trace shows retries and where each one went.
type tagAttempts struct {
	next http.RoundTripper
}

// RoundTrip adds the attempt's attributes to its span and sends the request.
func (t tagAttempts) RoundTrip(r *http.Request) (*http.Response, error) {
	if a, ok := r.Context().Value(attemptKey{}).(*attemptInfo); ok {
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetAttributes(a.attributes()...)
		}
	}
	return t.next.RoundTrip(r)
}

func (a *attemptInfo) attributes() []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("discovery.source", string(a.source)),
		attribute.String("discovery.name", a.name),
		attribute.Int("httpclient.attempt", a.n),
	}
	if a.n > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(a.n-1))
	}
	if host, port, err := net.SplitHostPort(a.addr); err == nil {
		attrs = append(attrs, semconv.NetworkPeerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.NetworkPeerPort(p))
		}
	}
	return attrs
}
