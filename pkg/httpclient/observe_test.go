package httpclient_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// observed is a fake httpclient.Observer that keeps "source result" per call and attempt.
type observed struct {
	mu        sync.Mutex
	calls     []string
	attempts  []string
	ejections []string
}

func (o *observed) ObserveCall(source discovery.Source, result string, d time.Duration) {
	if d < 0 {
		panic("negative duration")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, string(source)+" "+result)
}

func (o *observed) ObserveAttempt(source discovery.Source, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts = append(o.attempts, string(source)+" "+result)
}

func (o *observed) ObserveEjection(source discovery.Source) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ejections = append(o.ejections, string(source))
}

// attemptList returns the attempts observed so far.
func (o *observed) attemptList() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.attempts)
}

func TestObserver(t *testing.T) {
	t.Parallel()
	short := httpclient.Config{Timeout: 300 * time.Millisecond, AttemptTimeout: 100 * time.Millisecond,
		MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
	failing := resolverFunc(func(context.Context) (discovery.Endpoint, error) {
		return discovery.Endpoint{}, errors.New("no such host")
	})
	tests := []struct {
		name         string
		cfg          httpclient.Config
		method       string
		resolver     func(t *testing.T) httpclient.Resolver
		wantCall     string
		wantAttempts []string // nil: every attempt is wantAttempt, however many were made
		wantAttempt  string
	}{
		{
			name:         "503 then 200",
			resolver:     func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 503, 200); return fixed(addr) },
			wantCall:     "dns ok",
			wantAttempts: []string{"dns 5xx", "dns ok"},
		},
		{
			name:         "404",
			resolver:     func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 404); return fixed(addr) },
			wantCall:     "dns 4xx",
			wantAttempts: []string{"dns 4xx"},
		},
		{
			name:         "503 every time",
			resolver:     func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 503); return fixed(addr) },
			wantCall:     "dns bad_gateway",
			wantAttempts: []string{"dns 5xx", "dns 5xx", "dns 5xx"},
		},
		{
			name:         "POST 503 is not retried",
			method:       http.MethodPost,
			resolver:     func(t *testing.T) httpclient.Resolver { addr, _ := statusServer(t, 503); return fixed(addr) },
			wantCall:     "dns bad_gateway",
			wantAttempts: []string{"dns 5xx"},
		},
		{
			name:         "connection refused",
			resolver:     func(t *testing.T) httpclient.Resolver { return fixed(closedAddr(t)) },
			wantCall:     "dns unavailable",
			wantAttempts: []string{"dns connection_error", "dns connection_error", "dns connection_error"},
		},
		{
			name:         "no endpoint",
			resolver:     func(*testing.T) httpclient.Resolver { return failing },
			wantCall:     " no_endpoint",
			wantAttempts: []string{},
		},
		{
			name:        "never answers",
			cfg:         short,
			resolver:    func(t *testing.T) httpclient.Resolver { return fixed(silentAddr(t)) },
			wantCall:    "dns timeout",
			wantAttempt: "dns timeout",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := orFast(tt.cfg)
			obs := &observed{}
			c := newClient(t, cfg, httpclient.Deps{Resolver: tt.resolver(t), Observer: obs})
			_, _ = c.Do(t.Context(), tt.method, "/", nil, nil)

			obs.mu.Lock()
			defer obs.mu.Unlock()
			if want := []string{tt.wantCall}; !slices.Equal(obs.calls, want) {
				t.Errorf("observed calls %q, want %q", obs.calls, want)
			}
			if tt.wantAttempts != nil {
				if got := append([]string{}, obs.attempts...); !slices.Equal(got, tt.wantAttempts) {
					t.Errorf("observed attempts %q, want %q", obs.attempts, tt.wantAttempts)
				}
				return
			}
			if len(obs.attempts) == 0 {
				t.Errorf("observed no attempt, want at least one %q", tt.wantAttempt)
			}
			for _, a := range obs.attempts {
				if a != tt.wantAttempt {
					t.Errorf("observed attempts %q, want each to be %q", obs.attempts, tt.wantAttempt)
					break
				}
			}
		})
	}
}

func TestObserverCallerCancel(t *testing.T) {
	t.Parallel()
	obs := &observed{}
	addr, _ := statusServer(t, 200)
	c := newClient(t, fast, httpclient.Deps{Resolver: fixed(addr), Observer: obs})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _ = c.Get(ctx, "/")
	obs.mu.Lock()
	defer obs.mu.Unlock()
	// retry.Do makes no attempt with a context that is already done: nothing was resolved.
	if want := []string{" canceled"}; !slices.Equal(obs.calls, want) || len(obs.attempts) != 0 {
		t.Errorf("observed calls %q and attempts %q, want %q and none", obs.calls, obs.attempts, want)
	}
}
