package httpclient_test

import (
	"slices"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// clientEnv embeds Config the way the services do, so the variables carry the prefix.
type clientEnv struct {
	Client httpclient.Config `envPrefix:"CLIENT_"`
}

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
		{"no maximum age", []string{"CLIENT_MAX_CONN_AGE=-1s"}, nil},
		{"attempt as long as the call", []string{"CLIENT_TIMEOUT=1s", "CLIENT_ATTEMPT_TIMEOUT=1s"}, nil},
		{"attempt longer than the call", []string{"CLIENT_TIMEOUT=1s", "CLIENT_ATTEMPT_TIMEOUT=2s"}, []string{"CLIENT_ATTEMPT_TIMEOUT"}},
		{"0 that used to mean no maximum age", []string{"CLIENT_MAX_CONN_AGE=0"}, []string{"CLIENT_MAX_CONN_AGE"}},
		{"absurd connect timeout", []string{"CLIENT_CONNECT_TIMEOUT=5m"}, []string{"CLIENT_CONNECT_TIMEOUT"}},
		{"zero timeouts", []string{"CLIENT_TIMEOUT=0", "CLIENT_ATTEMPT_TIMEOUT=0s", "CLIENT_BACKOFF_BASE=0"},
			[]string{"CLIENT_ATTEMPT_TIMEOUT", "CLIENT_BACKOFF_BASE", "CLIENT_TIMEOUT"}},
		{"bad call timeout leaves the attempt rule out", []string{"CLIENT_TIMEOUT=1h", "CLIENT_ATTEMPT_TIMEOUT=50s"}, []string{"CLIENT_TIMEOUT"}},
		{"retries out of range", []string{"CLIENT_MAX_ATTEMPTS=0", "CLIENT_MAX_CONN_AGE=-1m"},
			[]string{"CLIENT_MAX_ATTEMPTS", "CLIENT_MAX_CONN_AGE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse[clientEnv](tt.environ)
			if got := config.Vars(err); !slices.Equal(got, tt.wantVars) {
				t.Errorf("Parse(%q) refuses %q, want %q (error: %v)", tt.environ, got, tt.wantVars, err)
			}
		})
	}
}
