package httpclient

import (
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
)

// Defaults used for zero Config fields, equal to the envDefault tags.
const (
	defaultTimeout        = 3 * time.Second
	defaultAttemptTimeout = time.Second
	defaultMaxAttempts    = 3
	defaultBackoffBase    = 25 * time.Millisecond
	defaultBackoffMax     = 250 * time.Millisecond
	defaultConnectTimeout = 200 * time.Millisecond
	defaultMaxConnAge     = 30 * time.Second
	defaultEjectAfter     = 2
	defaultEjectFor       = 5 * time.Second
	defaultEjectForMax    = 30 * time.Second
	defaultEjectMaxPct    = 50
)

// NoMaxConnAge as Config.MaxConnAge (CLIENT_MAX_CONN_AGE=-1s) keeps connections for as long as
// the transport likes, which behind a ClusterIP Service pins each to the pod it first reached.
const NoMaxConnAge = -time.Second

// Config bounds a call's time and retries. Services embed it with envPrefix:"CLIENT_". Zero
// fields take the envDefault values, so a zero Config is usable and no call is unbounded.
//
// The min and max tags are config.Parse's: an explicit 0 in the environment is refused where
// the field's zero means "the default" (writing 0 for "none" would silently get the default),
// and the upper bounds catch a misplaced unit while leaving room for slow backends: a whole call
// within 5m, an attempt within 1m, a TCP connect within 10s (a SYN unanswered for longer is
// gone for good; Linux itself gives up after about two minutes of retries).
type Config struct {
	// Timeout bounds the whole call, retries and backoff included, on top of any
	// deadline of the caller's context.
	Timeout time.Duration `env:"TIMEOUT" envDefault:"3s" min:"1ms" max:"5m"`
	// AttemptTimeout bounds one attempt (resolve, connect, request, body), so a hung
	// backend costs one attempt rather than the whole call.
	AttemptTimeout time.Duration `env:"ATTEMPT_TIMEOUT" envDefault:"1s" min:"1ms" max:"1m"`
	// ConnectTimeout bounds the TCP connect of an attempt, well below AttemptTimeout: inside
	// a cluster a connect takes a millisecond or two, so one that has not completed in
	// 200ms is going nowhere. Such a SYN is typically unanswered because the pod behind
	// the address is gone (its IP still listed by DNS) or because kube-proxy rejects it
	// for a Service with no endpoints and the node rate-limits its ICMP replies. Giving up
	// early leaves time to try another address, or to answer 503 quickly, instead of
	// spending the whole attempt. It applies to the default transport only.
	ConnectTimeout time.Duration `env:"CONNECT_TIMEOUT" envDefault:"200ms" min:"1ms" max:"10s"`
	// MaxAttempts counts the first attempt too; 1 disables retries.
	MaxAttempts int `env:"MAX_ATTEMPTS" envDefault:"3" min:"1" max:"10"`
	// BackoffBase is the wait before the first retry; it doubles for each further one.
	BackoffBase time.Duration `env:"BACKOFF_BASE" envDefault:"25ms" min:"1ms" max:"10s"`
	// BackoffMax caps one wait (before a ±20% jitter), so a long series of retries keeps
	// probing at a steady rate.
	BackoffMax time.Duration `env:"BACKOFF_MAX" envDefault:"250ms" min:"1ms" max:"1m"`
	// MaxConnAge retires a keep-alive connection once it is this old, so that behind a
	// ClusterIP Service kube-proxy gets to pick a pod again (see ageLimit). 0 means the
	// default, 30s, like every other field; a negative value, such as NoMaxConnAge, means no
	// maximum. The environment takes -1s for no maximum and refuses 0, which meant "no
	// maximum" before.
	MaxConnAge time.Duration `env:"MAX_CONN_AGE" envDefault:"30s" min:"-1s" max:"24h"`
	// EjectAfter is how many consecutive failures of one address (an attempt timeout, a
	// 502/503/504, a failed connect or a broken connection) take it out of the rotation for
	// a while, so that a hung pod costs a couple of attempt timeouts rather than one for
	// every call that picks it. It needs per-pod addresses (headless DNS, EndpointSlices):
	// behind a ClusterIP Service there is one address, which is never ejected.
	EjectAfter int `env:"EJECT_AFTER" envDefault:"2" min:"1" max:"100"`
	// EjectFor is how long the first ejection lasts; each one that follows within
	// EjectForMax of the address's re-admission lasts twice as long as the one before, up
	// to EjectForMax. When it is over, one attempt probes the address: an answer lets it
	// back, a failure ejects it again. (An EjectFor above EjectForMax is harmless: the
	// maximum wins.)
	EjectFor time.Duration `env:"EJECT_FOR" envDefault:"5s" min:"1ms" max:"10m"`
	// EjectForMax caps an ejection, so a pod that recovers gets traffic again within it.
	EjectForMax time.Duration `env:"EJECT_FOR_MAX" envDefault:"30s" min:"1ms" max:"1h"`
	// EjectMaxPercent caps the share of an endpoint's addresses that are skipped at once,
	// rounded down, and never all of them: with a whole Deployment failing, skipping more
	// would only pile the calls onto the few pods left.
	EjectMaxPercent int `env:"EJECT_MAX_PERCENT" envDefault:"50" min:"1" max:"100"`
	// TLS names the directory holding the CA bundle (ca.crt) that backends' certificates
	// must chain to, as CLIENT_TLS_DIR; empty means plain HTTP. New does not read it: the
	// program loads it with tlsdir.Load, keeps it current with Dir.Watch and passes
	// Dir.ClientConfig(service) as Deps.TLS, so that a missing file stops it at start-up
	// and a renewed bundle needs no restart. A tls.crt and tls.key there will be the
	// client's own certificate once backends ask for one (mutual TLS).
	TLS tlsdir.Config `envPrefix:"TLS_"`
}

// Validate checks, for config.Parse, that an attempt fits in its call, and refuses the 0 that
// used to mean no maximum age. (A ConnectTimeout above AttemptTimeout, or a BackoffBase above
// BackoffMax, is harmless: the outer bound wins.)
func (c *Config) Validate(r *config.Rules) {
	if c.AttemptTimeout > c.Timeout {
		r.Fail(&c.AttemptTimeout, "must not exceed %s, got %v", &c.Timeout, c.AttemptTimeout)
	}
	if c.MaxConnAge == 0 {
		r.Fail(&c.MaxConnAge, "0 no longer means no maximum: set -1s for none, or leave it unset for %v", defaultMaxConnAge)
	}
}

// withDefaults replaces zero (or nonsensical negative) fields with their defaults; a negative
// MaxConnAge stays, meaning no maximum.
func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = defaultAttemptTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = defaultBackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = defaultBackoffMax
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = defaultConnectTimeout
	}
	if c.MaxConnAge == 0 {
		c.MaxConnAge = defaultMaxConnAge
	}
	if c.EjectAfter <= 0 {
		c.EjectAfter = defaultEjectAfter
	}
	if c.EjectFor <= 0 {
		c.EjectFor = defaultEjectFor
	}
	if c.EjectForMax <= 0 {
		c.EjectForMax = defaultEjectForMax
	}
	if c.EjectMaxPercent <= 0 {
		c.EjectMaxPercent = defaultEjectMaxPct
	}
	return c
}
