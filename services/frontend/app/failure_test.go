package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
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
