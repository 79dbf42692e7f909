package httpclient

import (
	"slices"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// refusals remembers the addresses of one resolution that refused a connection, so that the
// calls after a refusal skip them instead of each paying a refused dial and a retry.
//
// A resolution is recognised by the identity of its Addrs slice: discovery hands every caller
// of a cached answer the same slice, and builds a new one for each lookup. Keying by identity
// rather than content is the point: a pod that refused is skipped only until discovery looks
// again (at the latest when its TTL runs out), so a pod that restarted on the same IP gets
// traffic back after one TTL instead of never. A Resolver that builds a new slice on every
// call simply gets no memory, and nothing is skipped.
//
// A refusals value is never modified once published; a refusal publishes a new one with
// compare-and-swap, so picking an address costs one atomic load and no lock.
type refusals struct {
	key     *string  // &Addrs[0] of the resolution these refusals belong to
	n       int      // len(Addrs), so a slice that merely starts at the same element differs
	refused []string // in the order they refused
	allowed []string // Addrs minus refused, in DNS order; empty when every address refused
}

// of reports whether r belongs to the resolution ep.
func (r *refusals) of(ep discovery.Endpoint) bool {
	return r != nil && len(ep.Addrs) == r.n && r.n > 0 && &ep.Addrs[0] == r.key
}

// pick returns the address for round-robin position i of ep, passing over the addresses that
// refused a connection since ep was resolved. When every address refused, none is skipped:
// a refusal then says nothing about which address to prefer.
func (c *Client) pick(ep discovery.Endpoint, i uint64) string {
	addrs := ep.Addrs
	if r := c.refused.Load(); r.of(ep) && len(r.allowed) > 0 {
		addrs = r.allowed
	}
	return addrs[i%uint64(len(addrs))]
}

// refuse records that addr, one of ep's addresses, refused a connection, and reports whether
// ep still has addresses that did not. The memory covers only the latest resolution that saw
// a refusal: a call still holding an older answer may replace it, which costs one more refused
// dial on the newer answer, never a wrong skip.
func (c *Client) refuse(ep discovery.Endpoint, addr string) (othersLeft bool) {
	if len(ep.Addrs) == 0 || !slices.Contains(ep.Addrs, addr) {
		return false
	}
	for {
		old := c.refused.Load()
		var refused []string
		if old.of(ep) {
			if slices.Contains(old.refused, addr) {
				return len(old.allowed) > 0
			}
			refused = old.refused
		}
		// Clip so that two refusals racing on the same old value never share an array.
		refused = append(slices.Clip(refused), addr)
		next := &refusals{key: &ep.Addrs[0], n: len(ep.Addrs), refused: refused}
		for _, a := range ep.Addrs {
			if !slices.Contains(refused, a) {
				next.allowed = append(next.allowed, a)
			}
		}
		if c.refused.CompareAndSwap(old, next) {
			return len(next.allowed) > 0
		}
	}
}
