package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// NewDNSResolver returns the resolver to pass to New. With server "" it is the system
// resolver (&net.Resolver{}), which in a pod applies the search path and ndots:5 so a short
// Service name works. Otherwise it is Go's own resolver with every connection dialed to
// server ("host:port"), over UDP or TCP as the resolver asks (TCP after a truncated answer),
// so no query goes anywhere else: that is what keeps tests and the local run on loopback.
// The search list of /etc/resolv.conf still applies to relative names, and error messages
// still name the resolv.conf server, because Go builds both from that file.
func NewDNSResolver(server string) *net.Resolver {
	if server == "" {
		return &net.Resolver{}
	}
	var d net.Dialer
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, server)
		},
	}
}

// lookupDNS tries the SRV record of the port name, then the name's addresses with the
// default port. The error names every query that failed and how.
func (r *Resolver) lookupDNS(ctx context.Context) (Endpoint, error) {
	var srvErr error
	if r.cfg.PortName != "" {
		ep, err := r.lookupSRV(ctx)
		if err == nil {
			return ep, nil
		}
		srvErr = err
	}
	ips, err := r.lookupHost(ctx, r.host)
	if err != nil {
		if srvErr != nil {
			return Endpoint{}, fmt.Errorf("dns: %w; %w", srvErr, err)
		}
		return Endpoint{}, fmt.Errorf("dns: %w", err)
	}
	var addrs addrSet
	port := strconv.Itoa(r.cfg.DefaultPort)
	for _, ip := range ips {
		addrs.add(ip, port)
	}
	return Endpoint{Source: SourceDNS, Name: r.host, Addrs: addrs.list}, nil
}

// lookupSRV asks for _<port name>._tcp.<name> and pairs the addresses of each target with
// its port. That covers a ClusterIP Service (one target, the Service name) as well as a
// headless one (one target per pod) and the local run (one target per replica and port).
func (r *Resolver) lookupSRV(ctx context.Context) (Endpoint, error) {
	name := "_" + r.cfg.PortName + "._tcp." + r.host
	srvCtx, cancel := context.WithTimeout(ctx, r.cfg.LookupTimeout)
	_, srvs, err := r.dns.LookupSRV(srvCtx, r.cfg.PortName, "tcp", r.host)
	cancel()
	// Go returns the well-formed records along with an error about malformed ones: use them.
	if len(srvs) == 0 {
		if err == nil {
			err = fmt.Errorf("lookup %s: no SRV records", name)
		}
		return Endpoint{}, err
	}

	// Targets are resolved in parallel so a slow one costs one timeout, not one each.
	ips := make([][]string, len(srvs))
	errs := make([]error, len(srvs))
	var wg sync.WaitGroup
	for i, srv := range srvs {
		// RFC 2782: target "." means the service is decidedly not available there.
		if srv.Target == "." || srv.Port == 0 {
			errs[i] = fmt.Errorf("lookup %s: unusable target %s port %d", name, srv.Target, srv.Port)
			continue
		}
		wg.Go(func() { ips[i], errs[i] = r.lookupHost(ctx, srv.Target) })
	}
	wg.Wait()

	var addrs addrSet
	for i, srv := range srvs {
		port := strconv.Itoa(int(srv.Port))
		for _, ip := range ips[i] {
			addrs.add(ip, port)
		}
	}
	if len(addrs.list) == 0 {
		return Endpoint{}, fmt.Errorf("lookup %s: no target resolved: %w", name, joinErrors(errs))
	}
	// Name is the Service's name, not the SRV query: that is what a user recognises.
	return Endpoint{Source: SourceDNS, Name: r.host, Addrs: addrs.list}, nil
}

// errNoAddresses is a name that exists without an address: nothing to dial.
var errNoAddresses = errors.New("no addresses")

// lookupHost bounds one address lookup by the lookup timeout. An empty answer is an error,
// since there is nothing to dial.
func (r *Resolver) lookupHost(ctx context.Context, host string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.LookupTimeout)
	defer cancel()
	ips, err := r.dns.LookupHost(ctx, host)
	if err == nil && len(ips) == 0 {
		err = fmt.Errorf("lookup %s: %w", host, errNoAddresses)
	}
	return ips, err
}

// addrSet collects "host:port" addresses in DNS order without duplicates: keeping the
// order leaves load spreading to the DNS server, which rotates or shuffles its answers.
type addrSet struct {
	list []string
	seen map[string]bool
}

func (s *addrSet) add(host, port string) {
	addr := net.JoinHostPort(host, port)
	if s.seen[addr] {
		return
	}
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	s.seen[addr] = true
	s.list = append(s.list, addr)
}
