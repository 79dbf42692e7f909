package httpserver

import (
	"net/netip"
	"strings"
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
)

// Defaults for zero fields of Config, the same as its envDefault tags, so that a Config
// literal in Go code gets every timeout the environment would give it.
const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 10 * time.Second
	defaultWriteTimeout      = 15 * time.Second
	defaultIdleTimeout       = 60 * time.Second
	defaultMaxHeaderBytes    = 64 << 10
	defaultMaxBodyBytes      = 1 << 20
	defaultShutdownTimeout   = 10 * time.Second
	defaultMaxConns          = 1000
)

// Config holds the server's knobs. Services embed it without a prefix, so its variables are
// PORT, READ_HEADER_TIMEOUT and so on. Zero fields take the envDefault values (New applies
// them), so a zero Config serves with every timeout set.
//
// The min and max tags are config.Parse's. A timeout of 0 is refused in the environment,
// since net/http reads it as "none" and Config as "the default", and neither is what a 0
// suggests. The upper bounds catch a misplaced unit: 1m for headers, 10m for a request or
// its response (a service here answers in seconds), 1h of keep-alive idleness, 1m of drain
// (a pod's terminationGracePeriodSeconds is 30s by default) and 5m of shutdown.
type Config struct {
	// Host is the address to listen on, an IP literal (no name: resolving one at listen time
	// would make start-up depend on DNS); empty means every interface, as a pod needs. Tests
	// set 127.0.0.1 to stay on loopback. Not "HOST": zsh and others set that to the machine's
	// name.
	Host string `env:"LISTEN_HOST"`
	// Port is the TCP port; 0 picks a free one (Deps.OnListen learns which).
	Port int `env:"PORT" envDefault:"8080" min:"0" max:"65535"`
	// AdminPort is the TCP port of the admin listener, which serves /metrics (when
	// Deps.MetricsHandler is set) apart from the public port, so that a Service exposing
	// Port (a NodePort, say) does not publish the metrics; 0 picks a free one
	// (Deps.OnAdminListen learns which).
	AdminPort int `env:"ADMIN_PORT" envDefault:"9090" min:"0" max:"65535"`
	// MaxConns caps the connections open on Port. At the cap the server closes the least
	// recently used idle keep-alive connection, else the oldest that has not sent its request
	// headers, else the newcomer, so a flood of idle or slow connections cannot exhaust the
	// memory (each costs about 20 KB) while a client that sends its request gets in. The
	// default, 1000, is about 20 MB: room in a 64 MiB container.
	MaxConns int `env:"MAX_CONNS" envDefault:"1000" min:"1" max:"1000000"`
	// ReadHeaderTimeout bounds reading the request line and headers, so a client that opens
	// connections and sends nothing (slowloris) cannot tie up the server.
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"5s" min:"1ms" max:"1m"`
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout time.Duration `env:"READ_TIMEOUT" envDefault:"10s" min:"1ms" max:"10m"`
	// WriteTimeout bounds a request from the end of its headers to the end of the response;
	// handlers must finish well within it.
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT" envDefault:"15s" min:"1ms" max:"10m"`
	// IdleTimeout closes keep-alive connections that carry no request for that long.
	IdleTimeout time.Duration `env:"IDLE_TIMEOUT" envDefault:"60s" min:"1ms" max:"1h"`
	// MaxHeaderBytes caps the request headers; larger ones get 431.
	MaxHeaderBytes int `env:"MAX_HEADER_BYTES" envDefault:"65536" min:"1" max:"1048576"`
	// MaxBodyBytes caps every request body; a larger one gets a 413 before any handler runs
	// (refuseLargeBody in guard.go).
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES" envDefault:"1048576" min:"1"`
	// DrainDelay is how long the server keeps serving after shutdown starts, with /readyz
	// answering 503, so that Kubernetes stops routing to the pod before connections close.
	// 0 (what a zero Config has) stops at once, as tests and the local run want.
	DrainDelay time.Duration `env:"DRAIN_DELAY" envDefault:"5s" max:"1m"`
	// AccessLogRate bounds the access log to this many lines per second; beyond it, lines
	// are left out until the next second (answers with a 5xx status are always logged), and a
	// line "access log sampled" says how many were. 0, what a zero Config has, logs every
	// request. Access log lines are at level info, so LOG_LEVEL=warn turns them off.
	AccessLogRate int `env:"ACCESS_LOG_RATE" envDefault:"100" min:"0"`
	// ShutdownTimeout bounds waiting for in-flight requests once the drain delay is over.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s" min:"1ms" max:"5m"`
	// TLS, when TLS_DIR names a mounted kubernetes.io/tls Secret, makes Port serve HTTPS
	// with its tls.crt and tls.key, re-read every TLS_RELOAD_INTERVAL so a renewed
	// certificate is served without a restart (see pkg/tlsdir). The probes on Port are then
	// HTTPS too: kubelet probes need scheme: HTTPS. The admin port stays plain HTTP, as
	// Prometheus scrapes it. Empty means plain HTTP.
	TLS tlsdir.Config `envPrefix:"TLS_"`
	// ClientAuth "require" (ClientAuthRequire) makes Port mutual TLS: a client must present
	// a certificate that chains to TLS_DIR's ca.crt (re-read like the rest), or the handshake
	// fails. "off" or empty, the default, asks for none. It needs TLS_DIR with a ca.crt.
	// Kubelet probes present no certificate, so with it the admin port answers /healthz and
	// /readyz too, for the probes to use.
	ClientAuth string `env:"TLS_CLIENT_AUTH" envDefault:"off"`
	// AllowedClients, with ClientAuth "require", are the client identities admitted: each a
	// SAN of the client's certificate, a URI (a SPIFFE ID such as
	// spiffe://cluster.local/ns/default/sa/frontend, matched exactly) or a DNS name (matched
	// without regard to case). A trusted certificate with none of them gets 403. Empty admits
	// every certificate the CA signed: then the CA is the whole policy.
	AllowedClients []string `env:"TLS_ALLOWED_CLIENTS"`
}

// The values of Config.ClientAuth.
const (
	ClientAuthOff     = "off"
	ClientAuthRequire = "require"
)

// mutualTLS reports whether clients must present a certificate.
func (c *Config) mutualTLS() bool { return c.ClientAuth == ClientAuthRequire }

// Validate checks the listen address, that the admin port is not the public one, and that the header timeout fits in the request's, for
// config.Parse.
func (c *Config) Validate(r *config.Rules) {
	if c.Host != "" {
		if _, err := netip.ParseAddr(c.Host); err != nil {
			r.Fail(&c.Host, "want an IP address such as 127.0.0.1 or ::, got %q", c.Host)
		}
	}
	if c.AdminPort != 0 && c.AdminPort == c.Port {
		r.Fail(&c.AdminPort, "must differ from %s, got %d", &c.Port, c.AdminPort)
	}
	if c.ReadHeaderTimeout > c.ReadTimeout {
		r.Fail(&c.ReadHeaderTimeout, "must not exceed %s, got %v", &c.ReadTimeout, c.ReadHeaderTimeout)
	}
	switch c.ClientAuth {
	case "", ClientAuthOff:
		if len(c.AllowedClients) > 0 {
			r.Fail(&c.AllowedClients, "applies only with client auth %q, got %s", ClientAuthRequire, &c.ClientAuth)
		}
	case ClientAuthRequire:
		if !c.TLS.Enabled() {
			r.Fail(&c.ClientAuth, "needs %s to be set: mutual TLS is TLS", &c.TLS.Dir)
		}
	default:
		r.Fail(&c.ClientAuth, "want %s or %s, got %q", ClientAuthOff, ClientAuthRequire, c.ClientAuth)
	}
	for _, id := range c.AllowedClients {
		if strings.TrimSpace(id) == "" {
			r.Fail(&c.AllowedClients, "want comma-separated SAN URIs or DNS names, got an empty one in %q", strings.Join(c.AllowedClients, ","))
			break
		}
	}
}

// withDefaults replaces zero (or nonsensical negative) fields with their defaults. Port,
// AdminPort and DrainDelay keep their zero, which is meaningful.
func (c Config) withDefaults() Config {
	setDefault(&c.ReadHeaderTimeout, defaultReadHeaderTimeout)
	setDefault(&c.ReadTimeout, defaultReadTimeout)
	setDefault(&c.WriteTimeout, defaultWriteTimeout)
	setDefault(&c.IdleTimeout, defaultIdleTimeout)
	setDefault(&c.MaxHeaderBytes, defaultMaxHeaderBytes)
	setDefault(&c.MaxBodyBytes, defaultMaxBodyBytes)
	setDefault(&c.ShutdownTimeout, defaultShutdownTimeout)
	setDefault(&c.MaxConns, defaultMaxConns)
	c.DrainDelay = max(c.DrainDelay, 0)
	return c
}

// setDefault sets *v to def unless it is positive.
func setDefault[N time.Duration | int | int64](v *N, def N) {
	if *v <= 0 {
		*v = def
	}
}
