package app

import (
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/service"
)

// Config is everything the frontend reads from its environment.
type Config struct {
	service.Config
	Discovery discovery.Config `envPrefix:"DISCOVERY_"`
	// DiscoveryMode says where the backend's addresses come from: "dns" (DNS, then the
	// Kubernetes environment variables) or "endpointslices" (a watch of the Service's
	// EndpointSlices through the Kubernetes API, which sees a new or a terminating pod within
	// about a second; DNS answers until the first list succeeds). The watch needs a service
	// account allowed to get, list and watch endpointslices (k8s/endpointslices/).
	DiscoveryMode string            `env:"DISCOVERY_MODE" envDefault:"dns"`
	Client        httpclient.Config `envPrefix:"CLIENT_"`
	// SpreadTimeout bounds a whole /api/spread request; it must end before the server's
	// WriteTimeout cuts the response off.
	SpreadTimeout time.Duration `env:"SPREAD_TIMEOUT" envDefault:"10s" min:"1ms"`
	// SpreadMaxN caps the n of /api/spread?n=; a larger n is a 400 naming the range. 100
	// calls show how a Service spreads over a few replicas (about 33 each of 3) and take
	// well under a second; 1000, the old cap, only made one request a load test. 0 means 100.
	SpreadMaxN int `env:"SPREAD_MAX_N" envDefault:"100" min:"1" max:"1000"`
	// SpreadMaxInFlight caps the /api/spread requests one frontend runs at once; one more is
	// a 429 with Retry-After. The spread is a demonstration, not traffic: one at a time keeps
	// its fresh connections from crowding out GET /. 0 means 1.
	SpreadMaxInFlight int `env:"SPREAD_MAX_IN_FLIGHT" envDefault:"1" min:"1" max:"16"`
	// CallWait bounds how long the one-shot mode ("frontend call") keeps retrying while no
	// backend accepts its connection or none can be found. A NetworkPolicy enforcer programs
	// a new pod's rules a few seconds after it starts, so a Job's first connects are refused;
	// curl --retry-connrefused exists for the same reason. 0 makes one call only.
	CallWait time.Duration `env:"CALL_WAIT" envDefault:"30s" max:"10m"`
	// PodsService is the headless Service whose pods GET /api/pod/{name} calls by their stable
	// DNS names, <name>.<PODS_SERVICE>.<namespace>.svc.<cluster domain>. (a StatefulSet's
	// serviceName), in DISCOVERY_NAMESPACE or else the frontend's own POD_NAMESPACE (without
	// either, the short <name>.<PODS_SERVICE>). Empty turns the route off: it answers 404.
	PodsService string `env:"PODS_SERVICE"`
	// PodsPort is the port those pods serve on. A pod's DNS name has address records only,
	// no SRV record to carry a port, so it is configured; 8080 is the backend's.
	PodsPort int `env:"PODS_PORT" envDefault:"8080" min:"1" max:"65535"`
}

// The values of DISCOVERY_MODE.
const (
	modeDNS            = "dns"
	modeEndpointSlices = "endpointslices"
)

// Validate checks the rules that span packages (each package checks its own),
// DISCOVERY_MODE and PODS_SERVICE. /api/spread and every backend call must end before the server's
// WriteTimeout cuts the response off, or a hung backend gets the browser an empty reply
// instead of a 504.
func (c *Config) Validate(r *config.Rules) {
	if c.SpreadTimeout >= c.Server.WriteTimeout {
		r.Fail(&c.SpreadTimeout, "must be shorter than %s, got %v", &c.Server.WriteTimeout, c.SpreadTimeout)
	}
	if c.Client.Timeout >= c.Server.WriteTimeout {
		r.Fail(&c.Client.Timeout, "must be shorter than %s, got %v", &c.Server.WriteTimeout, c.Client.Timeout)
	}
	if c.DiscoveryMode != modeDNS && c.DiscoveryMode != modeEndpointSlices {
		r.Fail(&c.DiscoveryMode, "must be %q or %q, got %q", modeDNS, modeEndpointSlices, c.DiscoveryMode)
	}
	// A Service's name is a DNS label; anything else would make every pod call fail.
	if c.PodsService != "" && !discovery.IsLabel(c.PodsService) {
		r.Fail(&c.PodsService, "must be a Service name (an RFC 1123 label such as backend-stateful), got %q", c.PodsService)
	}
}

// spreadLimits is the budget of /api/spread.
func (c *Config) spreadLimits() spreadLimits {
	return spreadLimits{maxN: c.SpreadMaxN, maxInFlight: c.SpreadMaxInFlight, timeout: c.SpreadTimeout}
}
