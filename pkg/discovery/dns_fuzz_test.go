package discovery_test

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

// FuzzDNSAnswers has a loopback DNS server answer with arbitrary SRV targets and ports and
// arbitrary A/AAAA records, and resolves through it as the frontend does (SRV for a port name,
// then A records with the default port). Whatever the answers, Resolve must not panic, and
// every address it returns must be a dialable IP:port made of what the server said.
func FuzzDNSAnswers(f *testing.F) {
	v4 := func(a, b, c, d byte) []byte { return []byte{a, b, c, d} }
	v6 := netip.MustParseAddr("fd00::1").AsSlice()
	f.Add("pod-a.test", uint16(8080), v4(10, 1, 0, 1), "pod-b.test", uint16(8081), v6, v4(10, 96, 0, 10))
	f.Add("pod-a.test", uint16(0), v4(10, 1, 0, 1), ".", uint16(80), v6, []byte{})
	f.Add("same.test", uint16(65535), v4(0, 0, 0, 0), "SAME.test.", uint16(65535), v4(255, 255, 255, 255), v4(127, 0, 0, 1))
	f.Add("localhost", uint16(1), []byte{}, "a..b", uint16(2), []byte{1, 2, 3}, netip.MustParseAddr("::ffff:10.0.0.1").AsSlice())
	f.Add("x\x00y.test", uint16(53), v4(1, 1, 1, 1), "very-long-label-"+string(make([]byte, 70)), uint16(99), v6, v6)
	f.Add("backend-service", uint16(8080), v4(10, 0, 0, 2), "_http._tcp.backend-service", uint16(8080), v4(10, 0, 0, 3), v4(10, 0, 0, 4))
	f.Fuzz(func(t *testing.T, target1 string, port1 uint16, ip1 []byte, target2 string, port2 uint16, ip2, serviceIP []byte) {
		s := startDNS(t)
		publish := func(name string, ip []byte) {
			if a, ok := netip.AddrFromSlice(ip); ok {
				s.SetA(name, a.String())
			}
		}
		publish(target1, ip1)
		publish(target2, ip2)
		publish("backend-service", serviceIP)
		s.SetSRV("_http._tcp.backend-service", dnstest.SRV{Target: target1, Port: port1}, dnstest.SRV{Target: target2, Port: port2})
		// A short lookup bound: an answer the server cannot encode is never sent, and the
		// query then waits for the whole bound.
		r := newResolver(discovery.Config{PortName: "http", LookupTimeout: 200 * time.Millisecond}, s, nil)

		ep, err := resolve(t, r)
		if err != nil {
			if !errors.Is(err, discovery.ErrNotFound) {
				t.Errorf("Resolve() = %v, want an error wrapping ErrNotFound", err)
			}
			return
		}
		if ep.Source != discovery.SourceDNS || len(ep.Addrs) == 0 {
			t.Fatalf("Resolve() = %+v, want DNS addresses", ep)
		}
		ports := []string{strconv.Itoa(int(port1)), strconv.Itoa(int(port2)), "80"}
		for _, addr := range ep.Addrs {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Errorf("Resolve() address %q: %v", addr, err)
				continue
			}
			// The host is an IP: one the server published, or one /etc/hosts gave a target
			// name such as localhost, which Go's resolver reads first.
			if _, err := netip.ParseAddr(host); err != nil {
				t.Errorf("Resolve() address %q has host %q, want an IP address", addr, host)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || !slices.Contains(ports, port) {
				t.Errorf("Resolve() address %q has port %q, want 1..65535 and one the server gave (%v)", addr, port, ports)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(ep.Addrs)))) != len(ep.Addrs) {
			t.Errorf("Resolve() addresses %q have duplicates", ep.Addrs)
		}
	})
}
