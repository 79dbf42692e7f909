package dnstest_test

import (
	"context"
	"fmt"
	"net"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

// Example publishes a Service the way the local run does, one SRV target per replica, and
// resolves it with a Go resolver that sends its queries only to the loopback server.
func Example() {
	s, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	s.SetA("backend-1.svc2svc.local", "127.0.0.1")
	s.SetA("backend-2.svc2svc.local", "127.0.0.1")
	s.SetSRV("_http._tcp.backend-service",
		dnstest.SRV{Target: "backend-1.svc2svc.local", Port: 8081},
		dnstest.SRV{Target: "backend-2.svc2svc.local", Port: 8082})

	var d net.Dialer
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, s.Addr())
	}}
	// The trailing dot makes the names absolute, so the host's search list is not walked.
	_, srvs, err := r.LookupSRV(context.Background(), "http", "tcp", "backend-service.")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, srv := range srvs {
		ips, err := r.LookupHost(context.Background(), srv.Target)
		fmt.Println(srv.Target, srv.Port, ips, err)
	}
	_, err = r.LookupHost(context.Background(), "unknown.svc2svc.local.")
	fmt.Println(err.(*net.DNSError).IsNotFound)
	// Output:
	// backend-1.svc2svc.local. 8081 [127.0.0.1] <nil>
	// backend-2.svc2svc.local. 8082 [127.0.0.1] <nil>
	// true
}
