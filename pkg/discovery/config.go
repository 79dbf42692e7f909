package discovery

import (
	"net"
	"strconv"

	"github.com/svc2svc/svc2svc/pkg/config"
)

// Validate checks DNSServer, for config.Parse: without a port NewDNSResolver would dial
// nothing useful, and every lookup would fail at run time instead of at start-up.
func (c *Config) Validate(r *config.Rules) {
	if c.DNSServer == "" {
		return
	}
	host, port, err := net.SplitHostPort(c.DNSServer)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		r.Fail(&c.DNSServer, "want host:port such as 10.96.0.10:53, got %q", c.DNSServer)
	}
}
