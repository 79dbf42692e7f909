package discovery_test

import (
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config/configtest"
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
	configtest.Refuses[discoveryEnv](t, "defaults", nil)
	configtest.Refuses[discoveryEnv](t, "a DNS server with its port", []string{"DISCOVERY_DNS_SERVER=10.96.0.10:53"})
	configtest.Refuses[discoveryEnv](t, "IPv6 DNS server", []string{"DISCOVERY_DNS_SERVER=[fd00::a]:53"})
	configtest.Refuses[discoveryEnv](t, "no cache", []string{"DISCOVERY_TTL=0s"})
	configtest.Refuses[discoveryEnv](t, "a DNS server without a port", []string{"DISCOVERY_DNS_SERVER=10.96.0.10"}, "DISCOVERY_DNS_SERVER")
	configtest.Refuses[discoveryEnv](t, "a DNS server with port 0", []string{"DISCOVERY_DNS_SERVER=10.96.0.10:0"}, "DISCOVERY_DNS_SERVER")
	configtest.Refuses[discoveryEnv](t, "a DNS port alone", []string{"DISCOVERY_DNS_SERVER=:53"}, "DISCOVERY_DNS_SERVER")
	configtest.Refuses[discoveryEnv](t, "absurd durations", []string{"DISCOVERY_TTL=2562047h", "DISCOVERY_LOOKUP_TIMEOUT=1h"}, "DISCOVERY_LOOKUP_TIMEOUT", "DISCOVERY_TTL")
	configtest.Refuses[discoveryEnv](t, "zero lookup timeout", []string{"DISCOVERY_LOOKUP_TIMEOUT=0"}, "DISCOVERY_LOOKUP_TIMEOUT")
}
