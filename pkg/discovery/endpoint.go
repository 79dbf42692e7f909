package discovery

// Source says which mechanism answered a resolution, so callers can show and count it.
type Source string

const (
	// SourceDNS means the name was found through DNS (A/AAAA records, or SRV when a port name is set).
	SourceDNS Source = "dns"
	// SourceEnv means DNS failed and the address came from the variables Kubernetes injects.
	SourceEnv Source = "env"
)

// Endpoint is the result of a resolution: what a client dials and how it was found.
type Endpoint struct {
	// Source is the mechanism that answered.
	Source Source
	// Name is what was looked up: the Service's DNS name (the FQDN when a namespace is set),
	// or the environment variable prefix.
	Name string
	// Addrs holds at least one "host:port". It is shared between callers of a cached
	// result, so it must be treated as read-only.
	Addrs []string
	// Generation numbers the resolver's answers: it grows with every lookup (or, for a
	// watch, every change of the addresses) and stays the same while an answer is reused,
	// so a client can tell a fresh answer from one it has seen without comparing
	// addresses (httpclient skips an address that failed a connect until the next
	// generation). 0 means the resolver does not number its answers.
	Generation uint64
}
