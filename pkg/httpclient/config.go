package httpclient

import "time"

// Defaults used for zero Config fields, equal to the envDefault tags.
const (
	defaultTimeout        = 3 * time.Second
	defaultAttemptTimeout = time.Second
	defaultMaxAttempts    = 3
	defaultBackoffBase    = 25 * time.Millisecond
	defaultBackoffMax     = 250 * time.Millisecond
	defaultConnectTimeout = 200 * time.Millisecond
)

// Config bounds a call's time and retries. Services embed it with envPrefix:"CLIENT_". Zero
// fields take the envDefault values, so a zero Config is usable and no call is unbounded.
type Config struct {
	// Timeout bounds the whole call, retries and backoff included, on top of any
	// deadline of the caller's context.
	Timeout time.Duration `env:"TIMEOUT" envDefault:"3s"`
	// AttemptTimeout bounds one attempt (resolve, connect, request, body), so a hung
	// backend costs one attempt rather than the whole call.
	AttemptTimeout time.Duration `env:"ATTEMPT_TIMEOUT" envDefault:"1s"`
	// ConnectTimeout bounds the TCP connect of an attempt, well below AttemptTimeout: inside
	// a cluster a connect takes a millisecond or two, so one that has not completed in
	// 200ms is going nowhere. Such a SYN is typically unanswered because the pod behind
	// the address is gone (its IP still listed by DNS) or because kube-proxy rejects it
	// for a Service with no endpoints and the node rate-limits its ICMP replies. Giving up
	// early leaves time to try another address, or to answer 503 quickly, instead of
	// spending the whole attempt. It applies to the default transport only.
	ConnectTimeout time.Duration `env:"CONNECT_TIMEOUT" envDefault:"200ms"`
	// MaxAttempts counts the first attempt too; 1 disables retries.
	MaxAttempts int `env:"MAX_ATTEMPTS" envDefault:"3" min:"1" max:"10"`
	// BackoffBase is the wait before the first retry; it doubles for each further one.
	BackoffBase time.Duration `env:"BACKOFF_BASE" envDefault:"25ms"`
	// BackoffMax caps one wait (before a ±20% jitter), so a long series of retries keeps
	// probing at a steady rate.
	BackoffMax time.Duration `env:"BACKOFF_MAX" envDefault:"250ms"`
	// MaxConnAge retires a keep-alive connection once it is this old, so that behind a
	// ClusterIP Service kube-proxy gets to pick a pod again (see ageLimit). Unlike the other
	// fields, 0 means unbounded rather than the default: the 30s default comes from the
	// variable's envDefault.
	MaxConnAge time.Duration `env:"MAX_CONN_AGE" envDefault:"30s"`
}

// withDefaults replaces zero (or nonsensical negative) fields with their defaults.
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
	return c
}
