package httpclient

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// outliers ejects, for a while, the addresses whose attempts keep failing, the way Envoy's
// outlier detection does (consecutive_gateway_failure, base_ejection_time,
// max_ejection_percent). unreachable only covers a connect that failed; a pod that accepts
// connections and then hangs (stopped, deadlocked, out of CPU) would otherwise cost every call
// that picks it a whole Config.AttemptTimeout, for as long as it hangs.
//
// An address is ejected after Config.EjectAfter consecutive failures (Outcome.outlierFailure
// says which outcomes count), for Config.EjectFor, doubled for each ejection that follows
// within Config.EjectForMax of the last re-admission, up to Config.EjectForMax. When its time
// is up, one attempt goes to it as a probe while the other calls still skip it: an answer
// re-admits it, a failure ejects it again, for longer. Letting all traffic back at once would
// cost a still-hung backend one attempt timeout per call that picks it during the probe.
//
// At most Config.EjectMaxPercent of an endpoint's addresses, rounded down, are skipped, and
// never the last one: a call must still go somewhere. Behind a ClusterIP Service the client
// sees one address, so nothing is ever ejected there.
//
// Ejections are kept by address, across resolutions: a re-resolution (every DISCOVERY_TTL)
// lists a hung pod again, and the pod is no healthier for it. The ejection time bounds the
// memory instead, and an address that has been healthy for EjectForMax is forgotten.
//
// Picking an address reads an immutable view with one atomic load (none is published while
// no address is failing), so the hot path takes no lock; a failure, an ejection and a
// re-admission take mu and publish a new view.
type outliers struct {
	after      int32
	base, max  time.Duration
	maxPercent int
	lease      time.Duration // how long a probe is awaited before another is let through

	mu    sync.Mutex
	hosts map[string]*host // guarded by mu: the addresses that failed lately
	ej    []ejection       // guarded by mu: in the order ejected
	view  atomic.Pointer[outlierView]
}

// outlierView is what pick and a successful attempt read: a copy of hosts and ej, never
// changed once published.
type outlierView struct {
	hosts map[string]*host
	ej    []ejection
	addrs []string // ej's addresses: what pick skips in the usual case, without allocating
}

// ejection is one address out of the rotation until until.
type ejection struct {
	h     *host
	until time.Time
}

// host is what outliers knows of one address.
type host struct {
	addr     string
	failures atomic.Int32 // consecutive failures; a success resets it without the lock
	probe    atomic.Int64 // Unix nanoseconds until which a probe is out; 0 when none
	// ejections counts the ejections since the address was last healthy for max; it
	// doubles the next ejection time. Guarded by outliers.mu.
	ejections int
	// admitted is when the address was last let back in. Guarded by outliers.mu.
	admitted time.Time
}

func newOutliers(cfg Config) *outliers {
	return &outliers{
		after:      int32(cfg.EjectAfter),
		base:       cfg.EjectFor,
		max:        cfg.EjectForMax,
		maxPercent: cfg.EjectMaxPercent,
		// A probe's answer comes within an attempt timeout of its claim, give or take
		// the scheduling; twice that keeps a second probe from slipping in meanwhile.
		lease: 2 * cfg.AttemptTimeout,
		hosts: map[string]*host{},
	}
}

// limit is how many of n addresses may be skipped: maxPercent of them, rounded down, and
// never all.
func (o *outliers) limit(n int) int {
	return min(n*o.maxPercent/100, n-1)
}

// skip returns, for addrs, the ejected addresses to pass over, or a probe: an address whose
// ejection is over and that this attempt is the one to try. unreachable addresses are never
// probed, since the connect would fail. It allocates only when the addresses changed since
// the ejections or a probe is due.
func (o *outliers) skip(addrs, unreachable []string) (skip []string, probe string) {
	v := o.view.Load()
	if v == nil || len(v.ej) == 0 {
		return nil, ""
	}
	now := time.Now()
	limit := o.limit(len(addrs))
	// The usual case: the listed ejections are all in force and within the limit. Skipping
	// an address that is not listed (its pod is gone) changes nothing, so v.addrs will do.
	listed, due := 0, false
	for _, e := range v.ej {
		if slices.Contains(addrs, e.h.addr) {
			listed++
			due = due || !now.Before(e.until)
		}
	}
	if !due && listed <= limit {
		return v.addrs, ""
	}
	for _, e := range v.ej {
		if len(skip) == limit {
			break
		}
		if !slices.Contains(addrs, e.h.addr) {
			continue
		}
		if !now.Before(e.until) && probe == "" && !slices.Contains(unreachable, e.h.addr) && e.h.claimProbe(now, o.lease) {
			probe = e.h.addr
			continue
		}
		skip = append(skip, e.h.addr)
	}
	return skip, probe
}

// claimProbe reports whether the caller is the one to probe h: no probe is out, or the last
// one was never answered within lease (its call gave up), so the address is not left
// ejected for good.
func (h *host) claimProbe(now time.Time, lease time.Duration) bool {
	p := h.probe.Load()
	if p > now.UnixNano() {
		return false
	}
	return h.probe.CompareAndSwap(p, now.Add(lease).UnixNano())
}

// succeeded records that addr answered. It takes no lock unless addr is ejected, which
// happens only for a probe (or an attempt sent before the ejection, which re-admits nothing:
// a backend that answers some calls and hangs on others is still ejected).
func (o *outliers) succeeded(addr string) {
	v := o.view.Load()
	if v == nil {
		return
	}
	h := v.hosts[addr]
	if h == nil {
		return
	}
	if h.failures.Load() != 0 {
		h.failures.Store(0)
	}
	if !slices.ContainsFunc(v.ej, func(e ejection) bool { return e.h == h }) {
		return
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if i := o.ejected(h); i >= 0 && !now.Before(o.ej[i].until) {
		o.ej = slices.Delete(slices.Clone(o.ej), i, i+1)
		h.admitted = now
		h.probe.Store(0)
		o.forget(now)
		o.publish()
	}
}

// failed records that addr, one of addrs, failed, and reports whether that ejected it. A
// failed probe ejects the address again, for longer; a failure of an attempt sent before the
// ejection changes nothing. No address is ejected when as many of addrs as limit allows
// are ejected already.
func (o *outliers) failed(addr string, addrs []string) (ejected bool) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	// A failure that changes nothing but a count publishes nothing: succeeded and pick
	// read the count through the host, and a backend answering 503s fails often.
	changed := false
	defer func() {
		if changed {
			o.publish()
		}
	}()
	h := o.hosts[addr]
	if h == nil {
		o.forget(now)
		h = &host{addr: addr}
		o.hosts[addr] = h
		changed = true
	}
	probeFailed := false
	if i := o.ejected(h); i >= 0 {
		if now.Before(o.ej[i].until) {
			return false
		}
		// The probe failed: out again, for longer.
		o.ej = slices.Delete(slices.Clone(o.ej), i, i+1)
		h.failures.Store(o.after)
		probeFailed, changed = true, true
	}
	if h.failures.Add(1) < o.after {
		return false
	}
	inForce := 0
	for _, e := range o.ej {
		if slices.Contains(addrs, e.h.addr) {
			inForce++
		}
	}
	if inForce >= o.limit(len(addrs)) {
		return false
	}
	if !probeFailed && now.Sub(h.admitted) > o.max {
		h.ejections = 0 // healthy long enough: start again from the base time
	}
	d := o.base
	for range h.ejections {
		if d >= o.max {
			break
		}
		d *= 2
	}
	d = min(d, o.max)
	h.ejections++
	h.failures.Store(0)
	h.probe.Store(0)
	o.ej = append(slices.Clip(o.ej), ejection{h: h, until: now.Add(d)})
	o.forget(now)
	changed = true
	return true
}

// ejected returns h's index in o.ej, or -1. o.mu is held.
func (o *outliers) ejected(h *host) int {
	return slices.IndexFunc(o.ej, func(e ejection) bool { return e.h == h })
}

// forget drops the addresses that have been healthy for max, so the memory holds only the
// addresses that failed lately, not every pod IP ever seen; and the ejections that ended max
// ago with no probe, whose pods are gone from the endpoint (a listed one would have been
// probed by then). o.mu is held.
func (o *outliers) forget(now time.Time) {
	o.ej = slices.DeleteFunc(slices.Clone(o.ej), func(e ejection) bool {
		return now.Sub(e.until) > o.max
	})
	for a, h := range o.hosts {
		if h.failures.Load() == 0 && o.ejected(h) < 0 && now.Sub(h.admitted) > o.max {
			delete(o.hosts, a)
		}
	}
}

// publish makes the current state the view that pick reads; none while nothing failed. o.mu
// is held.
func (o *outliers) publish() {
	if len(o.hosts) == 0 {
		o.view.Store(nil)
		return
	}
	v := &outlierView{hosts: maps.Clone(o.hosts), ej: slices.Clone(o.ej)}
	for _, e := range o.ej {
		v.addrs = append(v.addrs, e.h.addr)
	}
	o.view.Store(v)
}
