package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrNoSuchPod is matched (errors.Is), besides ErrNotFound, by an error of a Resolver made by
// NewPod when DNS answered that the pod's name does not exist or has no address. Kubernetes
// publishes a pod's name only while the pod is ready (unless its Service sets
// publishNotReadyAddresses), so this means "no ready pod of that name": a name that was never
// there, or a pod that is being replaced. It is told apart from a DNS server that failed or
// timed out, which says nothing about the pod.
var ErrNoSuchPod = errors.New("no ready pod of that name")

// ErrBadPodName is matched (errors.Is) by the error of NewPod for a name that is not an
// RFC 1123 label, the form of a pod's hostname.
var ErrBadPodName = errors.New("pod name must be an RFC 1123 label")

// maxLabel is the longest DNS label (RFC 1035 section 2.3.4).
const maxLabel = 63

// IsLabel reports whether s is an RFC 1123 label as Kubernetes defines it (DNS-1123 label): 1
// to 63 characters, lower-case letters, digits and '-', starting and ending with a letter or
// digit. Pod hostnames and Service names are labels, and a label has no dot, so it cannot
// turn a query into a name outside the Service it is put in front of.
func IsLabel(s string) bool {
	if len(s) == 0 || len(s) > maxLabel || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// NewPod returns a Resolver for the pod called name behind the headless Service cfg.Service,
// by the DNS name Kubernetes gives a pod whose hostname and subdomain are set, as a
// StatefulSet's pods are: <name>.<Service>, or with cfg.Namespace the FQDN
// <name>.<Service>.<Namespace>.svc.<ClusterDomain>. A pod's IP changes whenever it is
// recreated; this name stays, and always leads to the pod's current IP once DNS has caught up.
//
// It resolves through the same DNS path as New, with these differences, each because of what
// Kubernetes publishes: only the A/AAAA records are asked, paired with cfg.DefaultPort (the
// pods' container port), since SRV records exist per Service, not per pod, so cfg.PortName is
// ignored; DNS is always asked and nothing else, since no environment variables are injected
// for a pod, so cfg.SkipDNS is ignored and there is no fallback; and a name DNS says does not
// exist is ErrNoSuchPod. Lookups are reported to the observer (WithObserver) under
// cfg.Service, so the names callers choose never become metric labels. name must be an RFC
// 1123 label (ErrBadPodName otherwise), so that input from a request cannot reach any other
// name the resolver knows. Like New, it panics on a nil dns.
func NewPod(cfg Config, name string, dns DNS, opts ...Option) (*Resolver, error) {
	if !IsLabel(name) {
		return nil, fmt.Errorf("pod %q: %w", name, ErrBadPodName)
	}
	if cfg.Service == "" {
		return nil, fmt.Errorf("pod %s: %w: no headless Service", name, ErrNotFound)
	}
	if dns == nil {
		panic("discovery: NewPod needs a DNS resolver")
	}
	service := cfg.Service
	cfg.Service = name + "." + service
	cfg.PortName = ""
	cfg.SkipDNS = false
	r := New(cfg, dns, nil, opts...)
	r.podOf = service
	return r, nil
}

// lookupPod resolves a pod's name through DNS alone (see NewPod).
func (r *Resolver) lookupPod(ctx context.Context) (Endpoint, error) {
	start := time.Now()
	ep, err := r.lookupDNS(ctx)
	r.observe(SourceDNS, start, err)
	if err == nil {
		return ep, nil
	}
	if noSuchName(err) {
		return Endpoint{}, fmt.Errorf("resolve %s: %w: %w: %w", r.cfg.Service, ErrNotFound, ErrNoSuchPod, err)
	}
	return Endpoint{}, fmt.Errorf("resolve %s: %w: %w", r.cfg.Service, ErrNotFound, err)
}

// noSuchName reports whether DNS said the name does not exist (NXDOMAIN) or has no address,
// rather than failing to answer.
func noSuchName(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsNotFound
	}
	return errors.Is(err, errNoAddresses)
}
