package discovery_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/dnstest"
)

// Example resolves backend-service the way the frontend does in the local run: a loopback
// DNS server publishes three replicas on different ports through SRV, and when DNS stops
// answering the variables Kubernetes injects take over.
func Example() {
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dns.Close()
	var targets []dnstest.SRV
	for i, port := range []uint16{8081, 8082, 8083} {
		host := fmt.Sprintf("backend-%d.svc2svc.local", i+1)
		dns.SetA(host, "127.0.0.1")
		targets = append(targets, dnstest.SRV{Target: host, Port: port})
	}
	dns.SetSRV("_http._tcp.backend-service", targets...)

	environ := map[string]string{
		"BACKEND_SERVICE_SERVICE_HOST":      "10.96.0.10",
		"BACKEND_SERVICE_SERVICE_PORT_HTTP": "80",
	}
	env := func(key string) (string, bool) { v, ok := environ[key]; return v, ok }
	cfg := discovery.Config{Service: "backend-service", PortName: "http"} // TTL 0: no cache
	r := discovery.New(cfg, discovery.NewDNSResolver(dns.Addr()), env)

	ep, err := r.Resolve(context.Background())
	fmt.Println(ep.Source, ep.Name, ep.Addrs, err)

	dns.SetMode(dnstest.ModeServFail)
	ep, err = r.Resolve(context.Background())
	fmt.Println(ep.Source, ep.Name, ep.Addrs, err)
	// Output:
	// dns backend-service [127.0.0.1:8081 127.0.0.1:8082 127.0.0.1:8083] <nil>
	// env BACKEND_SERVICE [10.96.0.10:80] <nil>
}

// ExampleEnvPrefix shows the names of the variables Kubernetes injects for a Service.
func ExampleEnvPrefix() {
	p := discovery.EnvPrefix("backend-service")
	fmt.Println(p+"_SERVICE_HOST", p+"_SERVICE_PORT", p+"_SERVICE_PORT_HTTP")
	// Output:
	// BACKEND_SERVICE_SERVICE_HOST BACKEND_SERVICE_SERVICE_PORT BACKEND_SERVICE_SERVICE_PORT_HTTP
}

// ExampleNewPod resolves one pod of a StatefulSet by its stable name, before and after the
// pod is replaced: its IP changes, its name does not.
func ExampleNewPod() {
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dns.Close()
	cfg := discovery.Config{Service: "backend-stateful", DefaultPort: 8080} // the headless Service, the pods' port
	r, err := discovery.NewPod(cfg, "backend-0", discovery.NewDNSResolver(dns.Addr()))
	if err != nil {
		fmt.Println(err)
		return
	}

	dns.SetA("backend-0.backend-stateful", "10.244.0.7")
	ep, err := r.Resolve(context.Background())
	fmt.Println(ep.Name, ep.Addrs, err)

	dns.SetA("backend-0.backend-stateful", "10.244.0.12") // kubectl delete pod backend-0
	ep, err = r.Resolve(context.Background())
	fmt.Println(ep.Name, ep.Addrs, err)

	_, err = discovery.NewPod(cfg, "backend-0.evil.example", discovery.NewDNSResolver(dns.Addr()))
	fmt.Println(errors.Is(err, discovery.ErrBadPodName))
	// Output:
	// backend-0.backend-stateful [10.244.0.7:8080] <nil>
	// backend-0.backend-stateful [10.244.0.12:8080] <nil>
	// true
}
