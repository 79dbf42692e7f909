package httpserver_test

import (
	"slices"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// TestConfigRules checks the bounds and rules config.Parse applies to Config, by the
// variables each environment gets refused for.
func TestConfigRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		environ  []string
		wantVars []string
	}{
		{"defaults", nil, nil},
		{"loopback literals", []string{"LISTEN_HOST=127.0.0.1"}, nil},
		{"IPv6 everywhere", []string{"LISTEN_HOST=::", "DRAIN_DELAY=0s", "PORT=0"}, nil},
		{"a name needs DNS", []string{"LISTEN_HOST=localhost"}, []string{"LISTEN_HOST"}},
		{"bracketed IPv6", []string{"LISTEN_HOST=[::1]"}, []string{"LISTEN_HOST"}},
		{"zero timeouts", []string{"READ_HEADER_TIMEOUT=0", "READ_TIMEOUT=0", "SHUTDOWN_TIMEOUT=0", "WRITE_TIMEOUT=0s", "IDLE_TIMEOUT=0"},
			[]string{"IDLE_TIMEOUT", "READ_HEADER_TIMEOUT", "READ_TIMEOUT", "SHUTDOWN_TIMEOUT", "WRITE_TIMEOUT"}},
		{"absurd durations", []string{"WRITE_TIMEOUT=2562047h", "DRAIN_DELAY=1h"}, []string{"DRAIN_DELAY", "WRITE_TIMEOUT"}},
		{"header timeout longer than the request's", []string{"READ_HEADER_TIMEOUT=20s", "READ_TIMEOUT=10s"}, []string{"READ_HEADER_TIMEOUT"}},
		{"zero limits", []string{"MAX_HEADER_BYTES=0", "MAX_BODY_BYTES=0"}, []string{"MAX_BODY_BYTES", "MAX_HEADER_BYTES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse[httpserver.Config](tt.environ)
			if got := config.Vars(err); !slices.Equal(got, tt.wantVars) {
				t.Errorf("Parse(%q) refuses %q, want %q (error: %v)", tt.environ, got, tt.wantVars, err)
			}
		})
	}
}
