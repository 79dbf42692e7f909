package dnstest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

func start(t *testing.T) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return s
}

// exchange sends one query to s over network ("udp" or "tcp") with miekg's client, which
// reports exactly what the server said (rcode, flags, sections).
func exchange(t *testing.T, s *dnstest.Server, network, name string, qtype uint16, timeout time.Duration) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: timeout}
	req := new(dns.Msg).SetQuestion(name, qtype)
	res, _, err := c.Exchange(req, s.Addr())
	return res, err
}

// rdata returns the records without their headers, e.g. "127.0.0.1" or "0 0 8081 a.test.".
func rdata(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	return out
}

// goResolver resolves through s only, the way discovery.NewDNSResolver does.
func goResolver(s *dnstest.Server) *net.Resolver {
	var d net.Dialer
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, s.Addr())
	}}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetA("backend-1.test.local", "127.0.0.1", "127.0.0.2")
	s.SetA("Db.Test.", "10.0.0.1")
	s.SetA("dual.test", "::1", "127.0.0.3")
	s.SetA("empty.test")
	s.SetA("backend-2.test.local", "127.0.0.1")
	s.SetSRV("_http._tcp.backend-service",
		dnstest.SRV{Target: "backend-1.test.local", Port: 8081},
		dnstest.SRV{Target: "Backend-2.Test.Local.", Port: 8082},
		dnstest.SRV{Target: "unknown.test", Port: 8083})

	tests := []struct {
		name      string
		qname     string
		qtype     uint16
		wantRcode int
		want      []string
		wantExtra []string
	}{
		{name: "A relative name queried in other case", qname: "BACKEND-1.Test.Local.", qtype: dns.TypeA,
			want: []string{"127.0.0.1", "127.0.0.2"}},
		{name: "A set as FQDN", qname: "db.test.", qtype: dns.TypeA, want: []string{"10.0.0.1"}},
		{name: "A of dual-stack name", qname: "dual.test.", qtype: dns.TypeA, want: []string{"127.0.0.3"}},
		{name: "AAAA of dual-stack name", qname: "dual.test.", qtype: dns.TypeAAAA, want: []string{"::1"}},
		{name: "AAAA of IPv4-only name", qname: "db.test.", qtype: dns.TypeAAAA},
		{name: "known name other type", qname: "db.test.", qtype: dns.TypeTXT},
		{name: "name without addresses", qname: "empty.test.", qtype: dns.TypeA},
		{name: "unknown name", qname: "nope.test.", qtype: dns.TypeA, wantRcode: dns.RcodeNameError},
		{name: "parent of a known name", qname: "test.local.", qtype: dns.TypeA, wantRcode: dns.RcodeNameError},
		{name: "SRV with additional addresses", qname: "_HTTP._tcp.backend-service.", qtype: dns.TypeSRV,
			want:      []string{"0 0 8081 backend-1.test.local.", "0 0 8082 backend-2.test.local.", "0 0 8083 unknown.test."},
			wantExtra: []string{"127.0.0.1", "127.0.0.2", "127.0.0.1"}},
		{name: "SRV name asked for A", qname: "_http._tcp.backend-service.", qtype: dns.TypeA},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				res, err := exchange(t, s, network, tt.qname, tt.qtype, 5*time.Second)
				if err != nil {
					t.Fatalf("exchange(%s %s) = %v, want an answer", tt.qname, dns.TypeToString[tt.qtype], err)
				}
				if res.Rcode != tt.wantRcode || !res.Authoritative {
					t.Errorf("exchange(%s %s) rcode, aa = %s, %t; want %s, true", tt.qname, dns.TypeToString[tt.qtype],
						dns.RcodeToString[res.Rcode], res.Authoritative, dns.RcodeToString[tt.wantRcode])
				}
				if got := rdata(res.Answer); !slices.Equal(got, tt.want) {
					t.Errorf("exchange(%s %s) answer = %q, want %q", tt.qname, dns.TypeToString[tt.qtype], got, tt.want)
				}
				if got := rdata(res.Extra); !slices.Equal(got, tt.wantExtra) {
					t.Errorf("exchange(%s %s) extra = %q, want %q", tt.qname, dns.TypeToString[tt.qtype], got, tt.wantExtra)
				}
				for _, rr := range res.Answer {
					if rr.Header().Name != tt.qname || rr.Header().Ttl != 5 {
						t.Errorf("exchange(%s) record %v, want name %s and TTL 5", tt.qname, rr, tt.qname)
					}
				}
			})
		}
	}
}

func TestModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mode      dnstest.Mode
		wantRcode int
		wantErr   bool
	}{
		{name: "answer", mode: dnstest.ModeAnswer, wantRcode: dns.RcodeSuccess},
		{name: "servfail", mode: dnstest.ModeServFail, wantRcode: dns.RcodeServerFailure},
		{name: "no answer", mode: dnstest.ModeNoAnswer, wantErr: true},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				s := start(t)
				s.SetA("a.test", "127.0.0.1")
				s.SetMode(tt.mode)
				res, err := exchange(t, s, network, "a.test.", dns.TypeA, 200*time.Millisecond)
				if tt.wantErr {
					var netErr net.Error
					if !errors.As(err, &netErr) || !netErr.Timeout() {
						t.Errorf("exchange(a.test. A) in mode %d = %v, %v; want a timeout", tt.mode, res, err)
					}
				} else if err != nil || res.Rcode != tt.wantRcode {
					t.Errorf("exchange(a.test. A) in mode %d = %v, %v; want rcode %s", tt.mode, res, err, dns.RcodeToString[tt.wantRcode])
				}
				if got := s.Queries(); got != 1 {
					t.Errorf("Queries() = %d, want 1", got)
				}

				// The mode applies to queries from now on: a healed server answers again.
				s.SetMode(dnstest.ModeAnswer)
				res, err = exchange(t, s, network, "a.test.", dns.TypeA, 5*time.Second)
				if err != nil || !slices.Equal(rdata(res.Answer), []string{"127.0.0.1"}) {
					t.Errorf("exchange(a.test. A) after SetMode(ModeAnswer) = %v, %v; want 127.0.0.1", res, err)
				}
			})
		}
	}
}

func TestGoResolver(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetA("backend-1.test.local", "127.0.0.1")
	s.SetA("backend-2.test.local", "127.0.0.1", "::1")
	s.SetSRV("_http._tcp.backend-service",
		dnstest.SRV{Target: "backend-1.test.local", Port: 8081},
		dnstest.SRV{Target: "backend-2.test.local", Port: 8082})
	// 40 targets do not fit in a 1232-byte UDP answer: the client must retry over TCP.
	var many []dnstest.SRV
	for i := range 40 {
		host := fmt.Sprintf("replica-with-a-long-name-%02d.backend.test.local", i)
		s.SetA(host, fmt.Sprintf("10.0.0.%d", i+1))
		many = append(many, dnstest.SRV{Target: host, Port: uint16(9000 + i)})
	}
	s.SetSRV("_http._tcp.big", many...)
	r := goResolver(s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hosts, err := r.LookupHost(ctx, "backend-2.test.local.")
	slices.Sort(hosts)
	if want := []string{"127.0.0.1", "::1"}; err != nil || !slices.Equal(hosts, want) {
		t.Errorf("LookupHost(backend-2.test.local.) = %q, %v; want %q", hosts, err, want)
	}

	_, srvs, err := r.LookupSRV(ctx, "http", "tcp", "backend-service.")
	got := make([]string, 0, len(srvs))
	for _, srv := range srvs {
		got = append(got, fmt.Sprintf("%s:%d", srv.Target, srv.Port))
	}
	if want := []string{"backend-1.test.local.:8081", "backend-2.test.local.:8082"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("LookupSRV(http, tcp, backend-service.) = %q, %v; want %q in order", got, err, want)
	}

	_, srvs, err = r.LookupSRV(ctx, "http", "tcp", "big.")
	if err != nil || len(srvs) != len(many) {
		t.Errorf("LookupSRV(http, tcp, big.) = %d records, %v; want %d", len(srvs), err, len(many))
	}

	_, err = r.LookupHost(ctx, "nope.test.")
	if dnsErr := (*net.DNSError)(nil); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("LookupHost(nope.test.) = %v, want a not-found *net.DNSError", err)
	}
}

func TestTruncatedOverUDP(t *testing.T) {
	t.Parallel()
	s := start(t)
	var many []dnstest.SRV
	for i := range 40 {
		many = append(many, dnstest.SRV{Target: fmt.Sprintf("replica-%02d.test", i), Port: 80})
	}
	s.SetSRV("big.test", many...)
	res, err := exchange(t, s, "udp", "big.test.", dns.TypeSRV, 5*time.Second)
	if err != nil || !res.Truncated || len(res.Answer) >= len(many) {
		t.Fatalf("exchange(big.test. SRV) over udp = %d records, TC %t, %v; want fewer than %d and TC",
			len(res.Answer), res.Truncated, err, len(many))
	}
	res, err = exchange(t, s, "tcp", "big.test.", dns.TypeSRV, 5*time.Second)
	if err != nil || res.Truncated || len(res.Answer) != len(many) {
		t.Errorf("exchange(big.test. SRV) over tcp = %v, %v; want all %d records", res, err, len(many))
	}
}

func TestConcurrentUpdatesAndQueries(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetA("a.test", "127.0.0.1")
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Go(func() {
			s.SetA("a.test", fmt.Sprintf("127.0.0.%d", i+1))
			s.SetSRV("_x._tcp.a.test", dnstest.SRV{Target: "a.test", Port: uint16(i + 1)})
			s.SetMode(dnstest.ModeAnswer)
		})
		wg.Go(func() {
			network := []string{"udp", "tcp"}[i%2]
			res, err := exchange(t, s, network, "a.test.", dns.TypeA, 5*time.Second)
			if err != nil || len(res.Answer) != 1 {
				t.Errorf("exchange(a.test. A) over %s = %v, %v; want one address", network, res, err)
			}
		})
	}
	wg.Wait()
	if got := s.Queries(); got != n {
		t.Errorf("Queries() = %d, want %d", got, n)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	taken := start(t)
	tests := []struct {
		name string
		addr string
	}{
		{name: "no port", addr: "127.0.0.1"},
		{name: "port in use", addr: taken.Addr()},
		{name: "not a local address", addr: "192.0.2.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := dnstest.Start(tt.addr)
			if err == nil {
				s.Close()
				t.Fatalf("Start(%q) = %s, nil; want an error", tt.addr, s.Addr())
			}
			if !strings.Contains(err.Error(), tt.addr) {
				t.Errorf("Start(%q) = %v, want the error to name the address", tt.addr, err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	s, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	s.SetA("a.test", "127.0.0.1")
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close() #%d = %v, want nil", i+1, err)
		}
	}
	if res, err := exchange(t, s, "tcp", "a.test.", dns.TypeA, time.Second); err == nil {
		t.Errorf("exchange after Close = %v, want an error", res)
	}
}

func TestSetAPanicsOnBadIP(t *testing.T) {
	t.Parallel()
	s := start(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "not-an-ip") {
			t.Errorf("SetA(a.test, not-an-ip) recovered %v, want a panic naming the value", r)
		}
	}()
	s.SetA("a.test", "not-an-ip")
}
