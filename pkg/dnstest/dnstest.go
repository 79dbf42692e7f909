// Package dnstest is a tiny authoritative DNS server for loopback.
//
// It exists so that tests and the off-cluster local run can exercise real DNS resolution
// (A, AAAA and SRV answers, NXDOMAIN, SERVFAIL, a server that never answers) without a
// single query leaving the machine: point a resolver at Server.Addr and publish the records
// the code under test should find. It answers only what it was told; it never recurses.
package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// SRV is one target of an SRV record set: the host a client should dial and on which port.
// Publishing several targets on different ports is how the local run stands in for the
// replicas behind a Kubernetes Service.
type SRV struct {
	// Target is the host name, relative or fully qualified; give it addresses with SetA.
	Target string
	// Port is the port clients should dial on Target.
	Port uint16
}

// Mode selects how the server reacts to queries, so tests can simulate a broken DNS.
type Mode int

const (
	// ModeAnswer answers from the published records; it is the default.
	ModeAnswer Mode = iota
	// ModeServFail answers every query with SERVFAIL, like a resolver whose upstream is down.
	ModeServFail
	// ModeNoAnswer reads every query and drops it, so clients wait for their own timeout,
	// like a DNS server behind a black-holing network policy.
	ModeNoAnswer
)

// shutdownTimeout bounds Close: a client holding a TCP connection open must not hang it.
const shutdownTimeout = 5 * time.Second

// Server is a running DNS server listening on UDP and TCP on the same loopback port. All of
// its methods are safe for concurrent use, so records can change while queries arrive.
type Server struct {
	addr    string
	udp     *dns.Server
	tcp     *dns.Server
	mode    atomic.Int64
	queries atomic.Int64

	mu   sync.RWMutex
	a    map[string][]netip.Addr // canonical name -> addresses, for A and AAAA
	srv  map[string][]SRV        // canonical name -> targets (canonical)
	once sync.Once
	err  error
}

// Start listens on addr (for example "127.0.0.1:0" for any free port) with UDP and TCP on
// the same port, since resolvers retry truncated UDP answers over TCP, and serves until
// Close. It returns only once both listeners are serving.
func Start(addr string) (*Server, error) {
	pc, l, err := listen(addr)
	if err != nil {
		return nil, fmt.Errorf("dnstest: listen %s: %w", addr, err)
	}
	s := &Server{
		addr: l.Addr().String(),
		a:    make(map[string][]netip.Addr),
		srv:  make(map[string][]SRV),
	}
	handler := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: handler}
	s.tcp = &dns.Server{Listener: l, Handler: handler}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := activate(srv); err != nil {
			pc.Close()
			l.Close()
			s.Close()
			return nil, fmt.Errorf("dnstest: serve %s: %w", addr, err)
		}
	}
	return s, nil
}

// listen binds UDP first and then TCP on the port UDP got. When the port was chosen by the
// kernel it may be taken for TCP, so that case retries with a new port a few times.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	tries := 1
	if port == "0" {
		tries = 10
	}
	for {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if tries--; tries == 0 {
			return nil, nil, err
		}
	}
}

// activate starts srv in its own goroutine and waits until it serves, so that Close
// right after Start always finds a started server to shut down.
func activate(srv *dns.Server) error {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	failed := make(chan error, 1)
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return err
	}
}

// Addr returns the "host:port" the server listens on, for both UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// SetA publishes the addresses of name, replacing any it had: IPv4 addresses answer A
// queries and IPv6 addresses AAAA queries. name may be relative or fully qualified and is
// case-insensitive. With no ips the name exists but has no addresses, so queries get an
// empty NOERROR answer. It panics on an address that does not parse, since that is a bug
// in the caller's fixture, not a condition to handle.
func (s *Server) SetA(name string, ips ...string) {
	addrs := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			panic(fmt.Sprintf("dnstest: SetA(%q): %v", name, err))
		}
		addrs = append(addrs, a.Unmap())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.a[dns.CanonicalName(name)] = addrs
}

// SetSRV publishes the SRV targets of name (for example "_http._tcp.backend-service"),
// replacing any it had. name and targets may be relative or fully qualified and are
// case-insensitive. Every target gets priority 0 and weight 0, which tells clients there
// is no preference, so Go's resolver keeps the order given here.
func (s *Server) SetSRV(name string, targets ...SRV) {
	ts := make([]SRV, len(targets))
	for i, t := range targets {
		ts[i] = SRV{Target: dns.CanonicalName(t.Target), Port: t.Port}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv[dns.CanonicalName(name)] = ts
}

// SetMode changes how the server reacts to the queries that arrive from now on.
func (s *Server) SetMode(m Mode) { s.mode.Store(int64(m)) }

// Queries returns how many queries have arrived, answered or not. Tests compare it before
// and after a call to prove that a cached result made no DNS round trip.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Close stops both listeners and waits for open connections, at most a few seconds. It is
// safe to call more than once; later calls return the first call's result.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		var errs []error
		for _, srv := range []*dns.Server{s.udp, s.tcp} {
			if srv != nil {
				errs = append(errs, srv.ShutdownContext(ctx))
			}
		}
		s.err = errors.Join(errs...)
	})
	return s.err
}
