package discovery_test

import (
	"slices"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// discoveryEnv embeds Config the way the frontend does, so the variables carry the prefix.
type discoveryEnv struct {
	Discovery discovery.Config `envPrefix:"DISCOVERY_"`
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
		{"a DNS server with its port", []string{"DISCOVERY_DNS_SERVER=10.96.0.10:53"}, nil},
		{"IPv6 DNS server", []string{"DISCOVERY_DNS_SERVER=[fd00::a]:53"}, nil},
		{"no cache", []string{"DISCOVERY_TTL=0s"}, nil},
		{"a DNS server without a port", []string{"DISCOVERY_DNS_SERVER=10.96.0.10"}, []string{"DISCOVERY_DNS_SERVER"}},
		{"a DNS server with port 0", []string{"DISCOVERY_DNS_SERVER=10.96.0.10:0"}, []string{"DISCOVERY_DNS_SERVER"}},
		{"a DNS port alone", []string{"DISCOVERY_DNS_SERVER=:53"}, []string{"DISCOVERY_DNS_SERVER"}},
		{"absurd durations", []string{"DISCOVERY_TTL=2562047h", "DISCOVERY_LOOKUP_TIMEOUT=1h"},
			[]string{"DISCOVERY_LOOKUP_TIMEOUT", "DISCOVERY_TTL"}},
		{"zero lookup timeout", []string{"DISCOVERY_LOOKUP_TIMEOUT=0"}, []string{"DISCOVERY_LOOKUP_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse[discoveryEnv](tt.environ)
			if got := config.Vars(err); !slices.Equal(got, tt.wantVars) {
				t.Errorf("Parse(%q) refuses %q, want %q (error: %v)", tt.environ, got, tt.wantVars, err)
			}
		})
	}
}
