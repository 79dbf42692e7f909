package httpclient

import (
	"slices"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// unreachable remembers, by address, the addresses that failed a connect (refused it, or left
// it unanswered for Config.ConnectTimeout), so that the calls after the failure skip them
// instead of each paying a failed connect and a retry. An unanswered connect matters most: a
// pod removed from a headless Service stays in cached DNS answers for up to the cluster
// DNS's cache time (30 s with kubeadm's CoreDNS), and its vanished IP never answers.
//
// The memory is bounded twice. It belongs to one resolution, told by the Endpoint's Source
// and Generation: when the resolver looks again (at the latest when its TTL runs out), a
// pod that restarted on the same IP gets a chance again after one TTL instead of never. And
// it expires Client.skipFor after the first failure it records, because a resolution can
// live long (a watch of EndpointSlices keeps one for as long as the set of ready pods stays
// the same) or not be numbered at all (Generation 0), and a connect that timed out once (a
// dropped SYN on a busy node) must not take a healthy pod out of the rotation for good.
//
// An unreachable value is never modified once published; a failure publishes a new one with
// compare-and-swap, so picking an address costs one atomic load and no lock.
type unreachable struct {
	source     discovery.Source
	generation uint64
	failed     []string // in the order they failed
	until      time.Time
}

// defaultSkipFor is how long an address that failed a connect is skipped at most: the
// default DISCOVERY_TTL, so a DNS answer and a watched one are treated alike.
const defaultSkipFor = 5 * time.Second

// skipped returns the addresses to skip in ep: the failed ones, if r belongs to ep's
// resolution and is still in force.
func (r *unreachable) skipped(ep discovery.Endpoint) []string {
	if r == nil || r.source != ep.Source || r.generation != ep.Generation || !time.Now().Before(r.until) {
		return nil
	}
	return r.failed
}

// pick returns the address for round-robin position i of ep, passing over the addresses that
// failed a connect and the ejected ones (see outliers), unless this attempt is an ejected
// address's probe. When every address is to be skipped, none is: a failure then says nothing
// about which address to prefer.
func (c *Client) pick(ep discovery.Endpoint, i uint64) string {
	skip := c.unreachable.Load().skipped(ep)
	ejected, probe := c.outliers.skip(ep.Addrs, skip)
	if probe != "" {
		return probe
	}
	switch {
	case len(skip) == 0:
		skip = ejected
	case len(ejected) > 0:
		skip = append(slices.Clip(skip), ejected...)
	}
	left := countLeft(ep.Addrs, skip)
	if left == 0 || left == len(ep.Addrs) {
		return ep.Addrs[i%uint64(len(ep.Addrs))]
	}
	k := i % uint64(left)
	for _, a := range ep.Addrs {
		if slices.Contains(skip, a) {
			continue
		}
		if k == 0 {
			return a
		}
		k--
	}
	panic("unreachable: fewer addresses left than counted")
}

// countLeft counts the addresses in addrs that are not in skip.
func countLeft(addrs, skip []string) int {
	if len(skip) == 0 {
		return len(addrs)
	}
	left := 0
	for _, a := range addrs {
		if !slices.Contains(skip, a) {
			left++
		}
	}
	return left
}

// markUnreachable records that a connect to addr, one of ep's addresses, failed, and reports
// whether ep still has addresses that did not. The memory covers only the latest resolution
// that saw a failure: a call still holding an older answer may replace it, which costs one
// more failed connect on the newer answer, never a wrong skip.
func (c *Client) markUnreachable(ep discovery.Endpoint, addr string) (othersLeft bool) {
	if !slices.Contains(ep.Addrs, addr) {
		return false
	}
	for {
		old := c.unreachable.Load()
		failed := old.skipped(ep)
		if slices.Contains(failed, addr) {
			return countLeft(ep.Addrs, failed) > 0
		}
		until := time.Now().Add(c.skipFor)
		if failed != nil {
			until = old.until
		}
		// Clip so that two failures racing on the same old value never share an array.
		next := &unreachable{source: ep.Source, generation: ep.Generation, failed: append(slices.Clip(failed), addr), until: until}
		if c.unreachable.CompareAndSwap(old, next) {
			return countLeft(ep.Addrs, next.failed) > 0
		}
	}
}
