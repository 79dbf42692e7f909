package httpclient_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// TestDoOutcomes checks the Outcome every way of failing gets, and that the sentinel
// errors.Is matches agrees with it.
func TestDoOutcomes(t *testing.T) {
	t.Parallel()
	short := httpclient.Config{Timeout: 300 * time.Millisecond, AttemptTimeout: 100 * time.Millisecond,
		BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
	twoAttempts := fast
	twoAttempts.MaxAttempts = 2
	tests := []struct {
		name         string
		cfg          httpclient.Config
		method, path string
		cancel       bool
		resolver     func(t *testing.T) httpclient.Resolver
		want         httpclient.Outcome
		wantSentinel error // nil: none of the four matches
		wantAttempts int
	}{
		{
			name:     "resolver fails",
			resolver: func(*testing.T) httpclient.Resolver { return resolverFunc(failingResolve) },
			want:     httpclient.NoEndpoint, wantSentinel: httpclient.ErrNoEndpoint,
		},
		{
			name:     "every connect refused",
			resolver: func(t *testing.T) httpclient.Resolver { return fixed(closedAddr(t), closedAddr(t)) },
			want:     httpclient.Unavailable, wantSentinel: httpclient.ErrUnavailable, wantAttempts: 3,
		},
		{
			name: "connect refused after an earlier attempt connected",
			cfg:  twoAttempts,
			resolver: func(t *testing.T) httpclient.Resolver {
				addr, _ := statusServer(t, 503)
				return fixed(addr, closedAddr(t))
			},
			want: httpclient.ConnectFailed, wantSentinel: httpclient.ErrBadGateway, wantAttempts: 2,
		},
		{
			name:     "503 on every attempt",
			resolver: func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 503); return fixed(addr) },
			want:     httpclient.GatewayStatus, wantSentinel: httpclient.ErrBadGateway, wantAttempts: 3,
		},
		{
			name:     "hung up on every attempt",
			resolver: func(t *testing.T) httpclient.Resolver { return fixed(hangupAddr(t)) },
			want:     httpclient.ConnectionBroken, wantSentinel: httpclient.ErrBadGateway, wantAttempts: 3,
		},
		{
			name:     "hung up on a POST, not retried",
			method:   http.MethodPost,
			resolver: func(t *testing.T) httpclient.Resolver { return fixed(hangupAddr(t)) },
			want:     httpclient.ConnectionBroken, wantSentinel: httpclient.ErrBadGateway, wantAttempts: 1,
		},
		{
			name: "body too large",
			resolver: func(t *testing.T) httpclient.Resolver {
				return fixed(startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = w.Write(make([]byte, 2<<20))
				})))
			},
			want: httpclient.BadResponse, wantSentinel: httpclient.ErrBadGateway, wantAttempts: 1,
		},
		{
			name:     "never answers",
			cfg:      short,
			resolver: func(t *testing.T) httpclient.Resolver { return fixed(silentAddr(t)) },
			want:     httpclient.Timeout, wantSentinel: httpclient.ErrTimeout,
		},
		{
			name:     "caller cancelled",
			cancel:   true,
			resolver: func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 200); return fixed(addr) },
			want:     httpclient.Canceled,
		},
		{
			name:     "path without a leading slash",
			path:     "api",
			resolver: func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 200); return fixed(addr) },
			want:     httpclient.InvalidRequest,
		},
		{
			name:     "invalid method",
			method:   "NOT A METHOD",
			resolver: func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 200); return fixed(addr) },
			want:     httpclient.InvalidRequest, wantAttempts: 1,
		},
	}
	sentinels := []error{httpclient.ErrNoEndpoint, httpclient.ErrUnavailable, httpclient.ErrTimeout, httpclient.ErrBadGateway}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := orFast(tt.cfg)
			path := "/"
			if tt.path != "" {
				path = tt.path
			}
			c := newClient(t, cfg, httpclient.Deps{Resolver: tt.resolver(t)})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}

			res, err := c.Do(ctx, tt.method, path, nil, nil)
			var e *httpclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("Do(%q, %q) = %+v, %v, want an *Error", tt.method, path, res, err)
			}
			if e.Outcome != tt.want {
				t.Errorf("Do(%q, %q) error Outcome = %v, want %v (error %v)", tt.method, path, e.Outcome, tt.want, err)
			}
			if tt.wantAttempts > 0 && e.Attempts != tt.wantAttempts {
				t.Errorf("Do(%q, %q) error Attempts = %d, want %d", tt.method, path, e.Attempts, tt.wantAttempts)
			}
			for _, s := range sentinels {
				if got, want := errors.Is(err, s), s == tt.wantSentinel; got != want {
					t.Errorf("errors.Is(%v, %v) = %t, want %t", err, s, got, want)
				}
			}
		})
	}
}

func failingResolve(context.Context) (discovery.Endpoint, error) {
	return discovery.Endpoint{}, errors.New("lookup backend-service: no such host")
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	for o, want := range map[httpclient.Outcome]string{
		httpclient.OK: "ok", httpclient.Unavailable: "unavailable", httpclient.GatewayStatus: "gateway_status",
		httpclient.InvalidRequest: "invalid_request", httpclient.Outcome(200): "outcome(200)",
		httpclient.CertUntrusted: "cert_untrusted", httpclient.CertNameMismatch: "cert_name_mismatch",
		httpclient.CertExpired: "cert_expired", httpclient.TLSHandshakeFailed: "tls_handshake_failed",
		httpclient.ClientCertRejected: "client_cert_rejected",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", o, got, want)
		}
	}
}
