package pairtest_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// podView is the JSON of GET /api/pod/{name}, answered or failed.
type podView struct {
	Requested string `json:"requested"`
	Backend   struct {
		Pod, Namespace string
	} `json:"backend"`
	Discovery struct {
		Source, Name, Addr string
	} `json:"discovery"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// podsDomain is where a frontend in namespace test asks for the pods of backend-stateful: by
// FQDN, the way it does in a pod (POD_NAMESPACE).
const podsDomain = ".backend-stateful.test.svc.cluster.local."

// startPod runs a backend called name on ip:port, the way a StatefulSet's pods all serve on
// one port, each at its own IP. It skips the test where ip cannot be bound (127.0.0.2 and up
// are loopback on Linux, not everywhere).
func startPod(t *testing.T, name, ip, port string) *servicetest.Service {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
	if err != nil {
		t.Skipf("cannot listen on %s:%s (%v): needs the whole 127.0.0.0/8 on loopback", ip, port, err)
	}
	ln.Close()
	return startBackend(t, name, "LISTEN_HOST="+ip, "PORT="+port, "POD_IP="+ip)
}

// TestPodByName calls backend pods by their stable names through a real frontend and real
// backends, with a loopback DNS server publishing each pod's name as CoreDNS publishes a
// StatefulSet's: an A record per pod, every pod on the same port.
func TestPodByName(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	pod0 := startBackend(t, "backend-0")
	_, port, _ := net.SplitHostPort(pod0.Addr)
	startPod(t, "backend-1", "127.0.0.2", port)
	dns.SetA("backend-0"+podsDomain, "127.0.0.1")
	dns.SetA("backend-1"+podsDomain, "127.0.0.2")
	dns.SetA("backend-2"+podsDomain, "127.0.0.2")       // a stale answer: backend-1 has that IP now
	dns.SetA("backend-3"+podsDomain, "127.0.0.4")       // nothing listens there: the pod is gone
	dns.SetA("backend-9.backend-stateful", "127.0.0.1") // the short name must not be asked
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "POD_NAMESPACE=test",
		"PODS_SERVICE=backend-stateful", "PODS_PORT="+port)

	for _, pod := range []struct{ name, addr string }{{"backend-0", "127.0.0.1:" + port}, {"backend-1", "127.0.0.2:" + port}} {
		status, _, body := get(t, fe.URL+"/api/pod/"+pod.name, "")
		v := decode[podView](t, body)
		if status != http.StatusOK || v.Requested != pod.name || v.Backend.Pod != pod.name ||
			v.Discovery.Source != "dns" || v.Discovery.Name != pod.name+podsDomain || v.Discovery.Addr != pod.addr {
			t.Errorf("GET /api/pod/%s = %d %s, want 200 from %s found via dns %s at %s", pod.name, status, body, pod.name, pod.name+podsDomain, pod.addr)
		}
	}

	// backend-0 is replaced: a new pod with the same name at a new IP, the old one still up.
	startPod(t, "backend-0", "127.0.0.3", port)
	dns.SetA("backend-0"+podsDomain, "127.0.0.3")
	status, _, body := get(t, fe.URL+"/api/pod/backend-0", "")
	if v := decode[podView](t, body); status != http.StatusOK || v.Backend.Pod != "backend-0" || v.Discovery.Addr != "127.0.0.3:"+port {
		t.Errorf("GET /api/pod/backend-0 after the pod was replaced = %d %s, want 200 from 127.0.0.3:%s", status, body, port)
	}

	tests := []struct {
		path       string
		wantStatus int
		wantError  string
	}{
		{"/api/pod/backend-2", http.StatusBadGateway, "the address of backend-2 was answered by backend-1: an out-of-date DNS answer"},
		{"/api/pod/backend-3", http.StatusServiceUnavailable, "backend unavailable: no backend accepted the connection"},
		{"/api/pod/backend-9", http.StatusNotFound, "no ready pod backend-9 behind backend-stateful: DNS does not know its name"},
	}
	for _, tt := range tests {
		status, _, body := get(t, fe.URL+tt.path, "")
		if v := decode[podView](t, body); status != tt.wantStatus || v.Status != tt.wantStatus || v.Error != tt.wantError {
			t.Errorf("GET %s = %d %s, want %d %q", tt.path, status, body, tt.wantStatus, tt.wantError)
		}
	}
}

// TestPodByNameDNSFails checks that a DNS server that fails says nothing about the pod: 503,
// not the 404 of a name DNS does not know.
func TestPodByNameDNSFails(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	dns.SetA("backend-0"+podsDomain, "127.0.0.1")
	dns.SetMode(dnstest.ModeServFail)
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "POD_NAMESPACE=test", "PODS_SERVICE=backend-stateful")
	status, _, body := get(t, fe.URL+"/api/pod/backend-0", "")
	if v := decode[podView](t, body); status != http.StatusServiceUnavailable || v.Error != "backend not found: discovery has no address for it" {
		t.Errorf("GET /api/pod/backend-0 with a failing DNS = %d %s, want 503 backend not found", status, body)
	}
}
