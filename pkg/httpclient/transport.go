package httpclient

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

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

// attemptAttributes describe attempt n of a call to addr, found by ep, on its (recorded)
// client span: the OpenTelemetry HTTP conventions' names, plus what only this client knows
// (how the address was found and which attempt this is), so a trace shows retries and where
// each one went.
func attemptAttributes(method, scheme, addr, path string, ep discovery.Endpoint, n int) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLFull(scheme + "://" + addr + path),
		attribute.String("discovery.source", string(ep.Source)),
		attribute.String("discovery.name", ep.Name),
		attribute.Int("httpclient.attempt", n),
	}
	if n > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(n-1))
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host), semconv.NetworkPeerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p), semconv.NetworkPeerPort(p))
		}
	}
	return attrs
}
