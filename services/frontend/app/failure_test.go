package app

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
	"github.com/svc2svc/svc2svc/pkg/tlstest"
)

// resolverFunc is a fake httpclient.Resolver: the function answers Resolve.
type resolverFunc func(ctx context.Context) (discovery.Endpoint, error)

func (f resolverFunc) Resolve(ctx context.Context) (discovery.Endpoint, error) { return f(ctx) }

// at resolves to addr, as DNS would for a Service with one address.
func at(addr string) resolverFunc {
	ep := discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{addr}}
	return func(context.Context) (discovery.Endpoint, error) { return ep, nil }
}

// answering returns the address of a loopback backend that answers every request with
// status and body.
func answering(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestFailure calls real loopback backends through the real client and checks the status
// and reason the frontend answers for each way the call can fail.
func TestFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		resolver   func(t *testing.T) httpclient.Resolver
		cancel     bool // the caller has gone away before the call
		wantStatus int
		wantError  string
	}{
		{
			name: "no endpoint",
			resolver: func(*testing.T) httpclient.Resolver {
				return resolverFunc(func(context.Context) (discovery.Endpoint, error) {
					return discovery.Endpoint{}, discovery.ErrNotFound
				})
			},
			wantStatus: http.StatusServiceUnavailable, wantError: "backend not found: discovery has no address for it",
		},
		{
			name: "connection refused",
			resolver: func(t *testing.T) httpclient.Resolver {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				ln.Close()
				return at(ln.Addr().String())
			},
			wantStatus: http.StatusServiceUnavailable, wantError: "backend unavailable: no backend accepted the connection",
		},
		{
			name: "503 after the last attempt",
			resolver: func(t *testing.T) httpclient.Resolver {
				return at(answering(t, http.StatusServiceUnavailable, "overloaded"))
			},
			wantStatus: http.StatusServiceUnavailable, wantError: "backend unavailable",
		},
		{
			name: "502 after the last attempt",
			resolver: func(t *testing.T) httpclient.Resolver {
				return at(answering(t, http.StatusBadGateway, "no upstream"))
			},
			wantStatus: http.StatusBadGateway, wantError: "backend unreachable or failing",
		},
		{
			name: "never answers",
			resolver: func(t *testing.T) httpclient.Resolver {
				// Accepted by the kernel's backlog, never read: the request is never answered.
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
				return at(ln.Addr().String())
			},
			wantStatus: http.StatusGatewayTimeout, wantError: "backend did not answer within the deadline",
		},
		{
			name: "answers 500",
			resolver: func(t *testing.T) httpclient.Resolver {
				return at(answering(t, http.StatusInternalServerError, "bug"))
			},
			wantStatus: http.StatusBadGateway, wantError: "backend answered with an error or an unexpected body",
		},
		{
			name: "answers 403",
			resolver: func(t *testing.T) httpclient.Resolver {
				return at(answering(t, http.StatusForbidden, `{"error":"client certificate identity not allowed","status":403}`))
			},
			wantStatus: http.StatusBadGateway, wantError: "backend refused the frontend's identity (403)",
		},
		{
			name: "answers something other than an identity",
			resolver: func(t *testing.T) httpclient.Resolver {
				return at(answering(t, http.StatusOK, `{"hello":"world"}`))
			},
			wantStatus: http.StatusBadGateway, wantError: "backend answered with an error or an unexpected body",
		},
		{
			name: "caller cancelled",
			resolver: func(t *testing.T) httpclient.Resolver {
				return at(answering(t, http.StatusOK, `{"pod":"backend-1"}`))
			},
			cancel:     true,
			wantStatus: http.StatusServiceUnavailable, wantError: "request cancelled",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := httpclient.Config{Timeout: 300 * time.Millisecond, AttemptTimeout: 100 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
			client := httpclient.New(cfg, httpclient.Deps{Resolver: tt.resolver(t)})
			t.Cleanup(client.CloseIdleConnections)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}

			view, err := newBackendCaller(client).call(ctx, false)
			if err == nil {
				t.Fatalf("call() = %+v, nil; want an error", view)
			}
			f := failure(err, view)
			if f.Status != tt.wantStatus || f.Error != tt.wantError {
				t.Errorf("failure(%v) = %d %q, want %d %q", err, f.Status, f.Error, tt.wantStatus, tt.wantError)
			}
			if f.Tried.Addrs == nil {
				t.Errorf("failure(%v) Tried.Addrs = nil, want a list (empty when nothing was tried)", err)
			}
		})
	}
}

// TestFailureOfOtherErrors checks the answer for an error that is neither the client's nor
// errBadAnswer: a failure all the same, never a success or a leaked message.
func TestFailureOfOtherErrors(t *testing.T) {
	t.Parallel()
	f := failure(errors.New("internal detail"), callView{})
	if f.Status != http.StatusBadGateway || f.Error != "backend call failed" {
		t.Errorf("failure(other) = %d %q, want %d %q", f.Status, f.Error, http.StatusBadGateway, "backend call failed")
	}
}

// TestFailureTLS calls real HTTPS backends on loopback whose certificates are wrong in one way
// each: the answer names the way, as a 502, and never the x509 text.
func TestFailureTLS(t *testing.T) {
	t.Parallel()
	ca, otherCA := tlstest.NewCA(t), tlstest.NewCA(t)
	names := tlstest.ServiceNames("backend-service", "default")
	bundle, err := tlsdir.Load(tlsdir.Config{Dir: tlstest.WriteSecretDir(t, map[string][]byte{tlsdir.CAFile: ca.PEM}).Path})
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := bundle.ClientConfig("backend-service")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		leaf      func(t *testing.T) *tlstest.Leaf // nil: the backend speaks plain HTTP
		wantError string
	}{
		{"other CA", func(t *testing.T) *tlstest.Leaf { return otherCA.Issue(t, names) }, "backend certificate not trusted"},
		{"other name", func(t *testing.T) *tlstest.Leaf { return ca.Issue(t, []string{"other-service"}) }, "backend certificate name mismatch"},
		{"expired", func(t *testing.T) *tlstest.Leaf { return ca.Issue(t, names, tlstest.Expired()) }, "backend certificate expired"},
		{"plain HTTP", nil, "backend TLS handshake failed"},
		{"client certificate required", func(t *testing.T) *tlstest.Leaf { return ca.Issue(t, names) }, "backend refused our client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"pod":"backend-1"}`)
			}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			if tt.leaf != nil {
				srv.TLS = &tls.Config{Certificates: []tls.Certificate{tt.leaf(t).TLSCertificate(t)}}
				if tt.name == "client certificate required" {
					srv.TLS.ClientAuth = tls.RequireAnyClientCert // and the client has none
				}
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			client := httpclient.New(httpclient.Config{}, httpclient.Deps{Resolver: at(srv.Listener.Addr().String()), TLS: clientTLS})
			t.Cleanup(client.CloseIdleConnections)

			view, err := newBackendCaller(client).call(t.Context(), false)
			if err == nil {
				t.Fatalf("call() = %+v, nil; want an error", view)
			}
			if f := failure(err, view); f.Status != http.StatusBadGateway || f.Error != tt.wantError || f.Tried.Attempts != 1 {
				t.Errorf("failure(%v) = %d %q after %d attempts, want 502 %q after 1", err, f.Status, f.Error, f.Tried.Attempts, tt.wantError)
			}
		})
	}
}
