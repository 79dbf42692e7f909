package httpclient_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
	"github.com/svc2svc/svc2svc/pkg/tlstest"
)

// service is the name the client checks in the backend's certificate.
const service = "backend-service"

// okHandler answers every request with 200 "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

// startTLSServer runs an HTTPS server on loopback presenting leaf and returns its address.
func startTLSServer(t testing.TB, leaf *tlstest.Leaf) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(okHandler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate(t)}}
	// The refused handshakes are the point of the tests, not news for their output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// startMTLSServer is startTLSServer for a server that requires a client certificate signed
// by clientCA, as the backend does with TLS_CLIENT_AUTH=require.
func startMTLSServer(t testing.TB, leaf *tlstest.Leaf, clientCA *tlstest.CA) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(okHandler)
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.Cert)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate(t)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// clientTLS returns the client TLS configuration of a CLIENT_TLS_DIR holding ca's bundle and,
// when given, the client certificate mine.
func clientTLS(t testing.TB, ca *tlstest.CA, mine ...*tlstest.Leaf) *tls.Config {
	t.Helper()
	files := map[string][]byte{tlsdir.CAFile: ca.PEM}
	if len(mine) > 0 {
		files[tlsdir.CertFile], files[tlsdir.KeyFile] = mine[0].CertPEM, mine[0].KeyPEM
	}
	d, err := tlsdir.Load(tlsdir.Config{Dir: tlstest.WriteSecretDir(t, files).Path})
	if err != nil {
		t.Fatalf("tlsdir.Load() = %v", err)
	}
	cfg, err := d.ClientConfig(service)
	if err != nil {
		t.Fatalf("ClientConfig() = %v", err)
	}
	return cfg
}

// TestDoTLS calls real HTTPS servers on loopback: each way the backend's TLS can be wrong is
// its own Outcome, not retried, and counted as "tls_error".
func TestDoTLS(t *testing.T) {
	t.Parallel()
	ca, otherCA := tlstest.NewCA(t), tlstest.NewCA(t)
	names := tlstest.ServiceNames(service, "default")
	frontend := ca.Issue(t, []string{"spiffe://cluster.local/ns/default/sa/frontend"})
	tests := []struct {
		name   string
		server func(t *testing.T) string
		mine   []*tlstest.Leaf // the client certificate, if any
		want   httpclient.Outcome
	}{
		{"trusted", func(t *testing.T) string { return startTLSServer(t, ca.Issue(t, names)) }, nil, httpclient.OK},
		{"mutual TLS", func(t *testing.T) string { return startMTLSServer(t, ca.Issue(t, names), ca) }, []*tlstest.Leaf{frontend}, httpclient.OK},
		{"mutual TLS, no client certificate", func(t *testing.T) string {
			return startMTLSServer(t, ca.Issue(t, names), ca)
		}, nil, httpclient.ClientCertRejected},
		{"mutual TLS, client certificate of another CA", func(t *testing.T) string {
			return startMTLSServer(t, ca.Issue(t, names), otherCA)
		}, []*tlstest.Leaf{frontend}, httpclient.ClientCertRejected},
		{"fqdn only is a mismatch", func(t *testing.T) string {
			return startTLSServer(t, ca.Issue(t, names[1:]))
		}, nil, httpclient.CertNameMismatch},
		{"other CA", func(t *testing.T) string { return startTLSServer(t, otherCA.Issue(t, names)) }, nil, httpclient.CertUntrusted},
		{"other name", func(t *testing.T) string {
			return startTLSServer(t, ca.Issue(t, []string{"other-service"}))
		}, nil, httpclient.CertNameMismatch},
		{"expired", func(t *testing.T) string {
			return startTLSServer(t, ca.Issue(t, names, tlstest.Expired()))
		}, nil, httpclient.CertExpired},
		{"plain HTTP", func(t *testing.T) string { return startServer(t, okHandler) }, nil, httpclient.TLSHandshakeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obs := &observed{}
			c := newClient(t, fast, httpclient.Deps{Resolver: fixed(tt.server(t)), TLS: clientTLS(t, ca, tt.mine...), Observer: obs})
			res, err := c.Get(t.Context(), "/")
			if tt.want == httpclient.OK {
				if err != nil || res.Scheme != "https" {
					t.Fatalf("Get() = %+v, %v; want an https Result", res, err)
				}
				return
			}
			var ce *httpclient.Error
			if !errors.As(err, &ce) || ce.Outcome != tt.want {
				t.Fatalf("Get() = %v, want Outcome %v", err, tt.want)
			}
			if !ce.Outcome.TLS() || !errors.Is(err, httpclient.ErrBadGateway) || ce.Attempts != 1 {
				t.Errorf("Get() = %v: TLS() %v, attempts %d; want a TLS bad gateway after 1 attempt", err, ce.Outcome.TLS(), ce.Attempts)
			}
			if got, want := obs.attemptList(), []string{"dns tls_error"}; !slices.Equal(got, want) {
				t.Errorf("attempts observed = %q, want %q", got, want)
			}
			if got, want := obs.calls, []string{"dns tls_error"}; !slices.Equal(got, want) {
				t.Errorf("calls observed = %q, want %q", got, want)
			}
		})
	}
}

// countHandshakes returns cfg with a counter of its completed handshakes.
func countHandshakes(cfg *tls.Config) (*tls.Config, *atomic.Int64) {
	n := new(atomic.Int64)
	cfg = cfg.Clone()
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		n.Add(1)
		return verify(cs)
	}
	return cfg, n
}

// TestTLSKeepAlive checks that keep-alive spares TLS a handshake per request: 100 sequential
// calls over three backends cost one handshake per backend, with mutual TLS too (the client
// certificate is sent and checked in the same handshake, never per request).
func TestTLSKeepAlive(t *testing.T) {
	t.Parallel()
	for _, mutual := range []bool{false, true} {
		t.Run(map[bool]string{false: "TLS", true: "mutual TLS"}[mutual], func(t *testing.T) {
			t.Parallel()
			ca := tlstest.NewCA(t)
			leaf := ca.Issue(t, []string{service})
			serve, mine := startTLSServer, []*tlstest.Leaf(nil)
			if mutual {
				serve = func(t testing.TB, leaf *tlstest.Leaf) string { return startMTLSServer(t, leaf, ca) }
				mine = []*tlstest.Leaf{ca.Issue(t, []string{"spiffe://cluster.local/ns/default/sa/frontend"})}
			}
			addrs := []string{serve(t, leaf), serve(t, leaf), serve(t, leaf)}
			cfg, handshakes := countHandshakes(clientTLS(t, ca, mine...))
			c := newClient(t, fast, httpclient.Deps{Resolver: fixed(addrs...), TLS: cfg})
			const calls = 100
			for range calls {
				if res, err := c.Get(t.Context(), "/"); err != nil || res.Status != http.StatusOK {
					t.Fatalf("Get() = %+v, %v", res, err)
				}
			}
			if n := handshakes.Load(); n > int64(len(addrs)) {
				t.Errorf("%d calls over %d addresses made %d handshakes, want at most %d", calls, len(addrs), n, len(addrs))
			}
			t.Logf("%d calls over %d addresses: %d handshakes", calls, len(addrs), handshakes.Load())
		})
	}
}

// BenchmarkGetTLS is BenchmarkGet over HTTPS; handshakes/op shows keep-alive at work.
func BenchmarkGetTLS(b *testing.B) {
	ca := tlstest.NewCA(b)
	addr := startTLSServer(b, ca.Issue(b, []string{service}))
	cfg, handshakes := countHandshakes(clientTLS(b, ca))
	benchGets(b, newClient(b, httpclient.Config{}, httpclient.Deps{Resolver: fixed(addr), TLS: cfg}))
	b.ReportMetric(float64(handshakes.Load())/float64(b.N), "handshakes/op")
}

// TestTLSMaxConnAge checks that Config.MaxConnAge retires HTTPS connections too: with a
// nanosecond's age every call dials and shakes hands afresh.
func TestTLSMaxConnAge(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	addr := startTLSServer(t, ca.Issue(t, []string{service}))
	cfg, handshakes := countHandshakes(clientTLS(t, ca))
	short := fast
	short.MaxConnAge = time.Nanosecond
	c := newClient(t, short, httpclient.Deps{Resolver: fixed(addr), TLS: cfg})
	const calls = 5
	for range calls {
		if _, err := c.Get(t.Context(), "/"); err != nil {
			t.Fatalf("Get() = %v", err)
		}
	}
	if n := handshakes.Load(); n != calls {
		t.Errorf("%d calls with MaxConnAge 1ns made %d handshakes, want %d", calls, n, calls)
	}
}
