package httpclient

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

func TestDefaultTransport(t *testing.T) {
	t.Parallel()
	tr := defaultTransport(200*time.Millisecond, nil)
	if tr.Proxy != nil {
		t.Error("defaultTransport().Proxy != nil, want nil: service calls must not use HTTP_PROXY")
	}
	if tr.MaxIdleConnsPerHost != 64 || tr.IdleConnTimeout != 90*time.Second {
		t.Errorf("defaultTransport() MaxIdleConnsPerHost, IdleConnTimeout = %d, %v, want 64, 90s", tr.MaxIdleConnsPerHost, tr.IdleConnTimeout)
	}
	if tr == http.DefaultTransport {
		t.Error("defaultTransport() = http.DefaultTransport, want a clone that clients do not share")
	}
}

func TestConfigWithDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero takes the defaults", Config{}, Config{Timeout: 3 * time.Second, AttemptTimeout: time.Second, MaxAttempts: 3, BackoffBase: 25 * time.Millisecond, BackoffMax: 250 * time.Millisecond, ConnectTimeout: 200 * time.Millisecond, MaxConnAge: 30 * time.Second,
			EjectAfter: 2, EjectFor: 5 * time.Second, EjectForMax: 30 * time.Second, EjectMaxPercent: 50}},
		{"set fields are kept", Config{Timeout: time.Second, AttemptTimeout: 2 * time.Second, MaxAttempts: 1, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, ConnectTimeout: time.Millisecond, MaxConnAge: time.Minute,
			EjectAfter: 3, EjectFor: time.Second, EjectForMax: time.Minute, EjectMaxPercent: 100},
			Config{Timeout: time.Second, AttemptTimeout: 2 * time.Second, MaxAttempts: 1, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, ConnectTimeout: time.Millisecond, MaxConnAge: time.Minute,
				EjectAfter: 3, EjectFor: time.Second, EjectForMax: time.Minute, EjectMaxPercent: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.in.withDefaults(); got != tt.want {
				t.Errorf("%+v.withDefaults() = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// An address that failed a connect is skipped only for a while, even when the resolution
// stays the same (a watch keeps it as long as the ready pods do): a pod whose SYN was dropped
// once comes back into the rotation.
func TestUnreachableExpires(t *testing.T) {
	t.Parallel()
	ep := discovery.Endpoint{Source: discovery.SourceDNS, Addrs: []string{"10.0.0.1:80", "10.0.0.2:80"}}
	c := New(Config{}, Deps{Resolver: fixedResolver(ep)})
	c.skipFor = 50 * time.Millisecond
	if !c.markUnreachable(ep, "10.0.0.1:80") {
		t.Fatal("markUnreachable = false, want true: 10.0.0.2:80 is left")
	}
	for i := range uint64(4) {
		if got := c.pick(ep, i); got != "10.0.0.2:80" {
			t.Fatalf("pick(%d) = %s right after the failure, want 10.0.0.2:80", i, got)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.pick(ep, 0) != "10.0.0.1:80" {
		if time.Now().After(deadline) {
			t.Fatal("10.0.0.1:80 still skipped 5s after a 50ms skip")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type fixedResolver discovery.Endpoint

func (r fixedResolver) Resolve(context.Context) (discovery.Endpoint, error) {
	return discovery.Endpoint(r), nil
}
