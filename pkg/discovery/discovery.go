// Package discovery resolves a Kubernetes Service name to the "host:port" addresses a client
// dials.
//
// It asks DNS first, because DNS is what Kubernetes keeps current: a ClusterIP Service has
// one stable name, a headless Service lists its ready pods, and an SRV query for a named
// port also says which port to dial. When DNS fails or is skipped it falls back to the
// <SERVICE>_SERVICE_HOST and <SERVICE>_SERVICE_PORT variables the kubelet injects into pods
// started after the Service, so a pod with broken DNS can still reach its backend. The last
// good answer is cached for a short TTL, so a request costs no DNS round trip.
//
// Nothing here reads process globals: the DNS resolver and the environment are injected, so
// tests run in parallel against a loopback DNS server with their own environment.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotFound is matched (errors.Is) by every error of Resolve, so a caller can tell "no
// address for the backend" from a failure of the call itself. The message of the wrapping
// error says what DNS answered and which environment variables were missing or invalid.
var ErrNotFound = errors.New("service not found")

// Defaults for zero fields of Config, the same as its envDefault tags, so that a Config
// literal in Go code behaves like one parsed from an empty environment.
const (
	defaultPort          = 80
	defaultLookupTimeout = time.Second
	defaultClusterDomain = "cluster.local"
)

// Config says what to resolve and how. Services embed it with envPrefix:"DISCOVERY_", so
// every field is set from a DISCOVERY_* variable.
type Config struct {
	// Service is the Kubernetes Service name (or any DNS name) to resolve.
	Service string `env:"SERVICE" envDefault:"backend-service"`
	// Namespace, when set, makes the query the fully qualified
	// <Service>.<Namespace>.svc.<ClusterDomain>. with a trailing dot, so the resolver asks
	// for that one name instead of walking the pod's search list (with ndots:5 a short name
	// is tried with every search domain, and a Service in another namespace only matches late).
	Namespace string `env:"NAMESPACE"`
	// ClusterDomain is the cluster's DNS domain, used only with Namespace; "" means
	// cluster.local.
	ClusterDomain string `env:"CLUSTER_DOMAIN" envDefault:"cluster.local"`
	// PortName, when set, is the Service's port name: DNS is asked for the SRV record
	// _<PortName>._tcp.<name>, which carries the port, and the environment for
	// <P>_SERVICE_PORT_<PORTNAME>. Without it the port is DefaultPort or <P>_SERVICE_PORT.
	PortName string `env:"PORT_NAME"`
	// DefaultPort is the port paired with A/AAAA answers when there is no SRV answer; 0
	// means 80, the port of a plain HTTP Service.
	DefaultPort int `env:"DEFAULT_PORT" envDefault:"80" min:"1" max:"65535"`
	// TTL is how long a good answer is reused; 0 disables the cache. It is short so that
	// scaling and rollouts are seen quickly; above an hour a rollout would go unseen.
	TTL time.Duration `env:"TTL" envDefault:"5s" max:"1h"`
	// LookupTimeout bounds each DNS query, so a DNS server that never answers delays the
	// environment fallback by a bounded time; 0 means 1s (the environment refuses 0, and
	// anything above 30s, which no DNS server in a cluster needs).
	LookupTimeout time.Duration `env:"LOOKUP_TIMEOUT" envDefault:"1s" min:"1ms" max:"30s"`
	// DNSServer is a "host:port" (the port is required) to send every DNS query to instead
	// of the system resolver (the local run and tests use a loopback server). Resolver does
	// not read it: callers pass it to NewDNSResolver to build the DNS given to New.
	DNSServer string `env:"DNS_SERVER"`
	// SkipDNS goes straight to the environment variables, for clusters or runs where DNS is
	// known to be unavailable.
	SkipDNS bool `env:"SKIP_DNS"`
}

// LookupEnv returns the value of an environment variable and whether it is set, like
// os.LookupEnv. It is injected so tests and callers control the environment.
type LookupEnv func(key string) (string, bool)

// DNS is what discovery needs from a resolver; *net.Resolver satisfies it. It is an
// interface so that callers choose the resolver (see NewDNSResolver).
type DNS interface {
	// LookupHost returns the addresses of host (A and AAAA answers).
	LookupHost(ctx context.Context, host string) (addrs []string, err error)
	// LookupSRV returns the records of _service._proto.name.
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
}

// Resolver resolves one Service, caching the answer. It is safe for concurrent use: build
// one per backend and share it.
type Resolver struct {
	cfg     Config
	dns     DNS
	env     LookupEnv
	host    string // the DNS name queried
	prefix  string // the environment variable prefix, EnvPrefix(cfg.Service)
	hostVar string
	portVar string
	obs     Observer // nil: lookups are not reported
	podOf   string   // for NewPod: the headless Service, reported to obs; "" for New

	cache      atomic.Pointer[entry] // the last good answer; nil when there is none
	generation atomic.Uint64         // the Generation of the last good answer
	mu         sync.Mutex            // guards flight
	flight     *flight               // the lookup in progress, shared by everyone who needs it
}

// New returns a Resolver for cfg that queries dns and reads env. dns may be nil only with
// cfg.SkipDNS; a nil env means no variable is set. It panics on a nil dns otherwise, since
// that is a wiring bug, not a condition to handle at run time. opts add optional
// collaborators, such as WithObserver.
func New(cfg Config, dns DNS, env LookupEnv, opts ...Option) *Resolver {
	if dns == nil && !cfg.SkipDNS {
		panic("discovery: New needs a DNS resolver unless SkipDNS is set")
	}
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	if cfg.DefaultPort == 0 {
		cfg.DefaultPort = defaultPort
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = defaultLookupTimeout
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = defaultClusterDomain
	}
	r := &Resolver{cfg: cfg, dns: dns, env: env, host: cfg.Service, prefix: EnvPrefix(cfg.Service)}
	if cfg.Namespace != "" {
		r.host = cfg.Service + "." + cfg.Namespace + ".svc." + strings.TrimSuffix(cfg.ClusterDomain, ".") + "."
	}
	r.hostVar, r.portVar = envVars(r.prefix, cfg.PortName)
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// lookup resolves without the cache: DNS first, then the environment.
func (r *Resolver) lookup(ctx context.Context) (Endpoint, error) {
	if r.cfg.Service == "" {
		return Endpoint{}, fmt.Errorf("resolve: %w: empty service name", ErrNotFound)
	}
	if r.podOf != "" {
		return r.lookupPod(ctx)
	}
	dnsErr := errors.New("dns skipped")
	if !r.cfg.SkipDNS {
		start := time.Now()
		ep, err := r.lookupDNS(ctx)
		r.observe(SourceDNS, start, err)
		if err == nil {
			return ep, nil
		}
		dnsErr = err
	}
	start := time.Now()
	ep, envErr := r.lookupEnv()
	r.observe(SourceEnv, start, envErr)
	if envErr != nil {
		return Endpoint{}, fmt.Errorf("resolve %s: %w: %w; %w", r.cfg.Service, ErrNotFound, dnsErr, envErr)
	}
	return ep, nil
}

// joinErrors is errors.Join on one line, since these messages end up in one log field or
// one HTTP error reason. Nil errors are dropped; it returns nil when none is left.
func joinErrors(errs []error) error {
	var msgs []string
	var kept []error
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
			kept = append(kept, err)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &joined{msg: strings.Join(msgs, ", "), errs: kept}
}

type joined struct {
	msg  string
	errs []error
}

func (e *joined) Error() string   { return e.msg }
func (e *joined) Unwrap() []error { return e.errs }
