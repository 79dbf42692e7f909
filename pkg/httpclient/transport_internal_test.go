package httpclient

import (
	"net/http"
	"testing"
	"time"
)

func TestDefaultTransport(t *testing.T) {
	t.Parallel()
	tr := defaultTransport(200 * time.Millisecond)
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
		{"zero takes the defaults", Config{}, Config{Timeout: 3 * time.Second, AttemptTimeout: time.Second, MaxAttempts: 3, BackoffBase: 25 * time.Millisecond, BackoffMax: 250 * time.Millisecond, ConnectTimeout: 200 * time.Millisecond}},
		{"set fields are kept", Config{Timeout: time.Second, AttemptTimeout: 2 * time.Second, MaxAttempts: 1, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, ConnectTimeout: time.Millisecond},
			Config{Timeout: time.Second, AttemptTimeout: 2 * time.Second, MaxAttempts: 1, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, ConnectTimeout: time.Millisecond}},
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
