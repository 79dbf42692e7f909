package httpclient

import (
	"slices"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// unreachable remembers the addresses of one resolution that failed a connect (refused it, or
// left it unanswered for Config.ConnectTimeout), so that the calls after the failure skip them
// instead of each paying a failed connect and a retry. An unanswered connect matters most:
// a pod removed from a headless Service stays in cached DNS answers for up to the cluster
// DNS's cache time (30 s with kubeadm's CoreDNS), and its vanished IP never answers.
//
// A resolution is recognised by the identity of its Addrs slice: discovery hands every caller
// of a cached answer the same slice, and builds a new one for each lookup. Keying by identity
// rather than content is the point: an address is skipped only until discovery looks again
// (at the latest when its TTL runs out), so a pod that restarted on the same IP gets traffic
// back after one TTL instead of never. A Resolver that builds a new slice on every
// call simply gets no memory, and nothing is skipped.
//
// The memory also expires Client.skipFor after the first failure it records, because a resolution
// can live long: a watch of EndpointSlices keeps the same answer for as long as the set of
// ready pods stays the same, and a connect that timed out once (a dropped SYN on a busy node)
// must not take a healthy pod out of the rotation for good.
//
// An unreachable value is never modified once published; a failure publishes a new one with
// compare-and-swap, so picking an address costs one atomic load and no lock.
type unreachable struct {
	key     *string  // &Addrs[0] of the resolution these failures belong to
	n       int      // len(Addrs), so a slice that merely starts at the same element differs
	failed  []string // in the order they failed
	allowed []string // Addrs minus failed, in DNS order; empty when every address failed
	until   time.Time
}

// defaultSkipFor is how long an address that failed a connect is skipped at most: the
// default DISCOVERY_TTL, so a DNS answer and a watched one are treated alike.
const defaultSkipFor = 5 * time.Second

// of reports whether r belongs to the resolution ep and is still in force.
func (r *unreachable) of(ep discovery.Endpoint) bool {
	return r != nil && len(ep.Addrs) == r.n && r.n > 0 && &ep.Addrs[0] == r.key && time.Now().Before(r.until)
}

// pick returns the address for round-robin position i of ep, passing over the addresses that
// failed a connect since ep was resolved. When every address failed, none is skipped: a
// failure then says nothing about which address to prefer.
func (c *Client) pick(ep discovery.Endpoint, i uint64) string {
	addrs := ep.Addrs
	if r := c.unreachable.Load(); r.of(ep) && len(r.allowed) > 0 {
		addrs = r.allowed
	}
	return addrs[i%uint64(len(addrs))]
}

// markUnreachable records that a connect to addr, one of ep's addresses, failed, and reports
// whether ep still has addresses that did not. The memory covers only the latest resolution
// that saw a failure: a call still holding an older answer may replace it, which costs one
// more failed connect on the newer answer, never a wrong skip.
func (c *Client) markUnreachable(ep discovery.Endpoint, addr string) (othersLeft bool) {
	if len(ep.Addrs) == 0 || !slices.Contains(ep.Addrs, addr) {
		return false
	}
	for {
		old := c.unreachable.Load()
		var failed []string
		until := time.Now().Add(c.skipFor)
		if old.of(ep) {
			if slices.Contains(old.failed, addr) {
				return len(old.allowed) > 0
			}
			failed, until = old.failed, old.until
		}
		// Clip so that two failures racing on the same old value never share an array.
		failed = append(slices.Clip(failed), addr)
		next := &unreachable{key: &ep.Addrs[0], n: len(ep.Addrs), failed: failed, until: until}
		for _, a := range ep.Addrs {
			if !slices.Contains(failed, a) {
				next.allowed = append(next.allowed, a)
			}
		}
		if c.unreachable.CompareAndSwap(old, next) {
			return len(next.allowed) > 0
		}
	}
}
