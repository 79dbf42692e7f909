package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// podAnswer is the JSON of GET /api/pod/{name}, success or failure.
type podAnswer struct {
	Requested string   `json:"requested"`
	Backend   identity `json:"backend"`
	Discovery found    `json:"discovery"`
	Error     string   `json:"error"`
	Status    int      `json:"status"`
	Tried     tried    `json:"tried"`
}

// podBackend serves GET / on addr as the pod called pod would, with status.
func podBackend(t *testing.T, addr, pod string, status int) (string, error) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(identity{Service: "backend", Pod: pod, PodIP: "127.0.0.1", Namespace: "test"})
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String(), nil
}

// startPodFrontend runs a real frontend through Run whose DNS queries go to dns only.
func startPodFrontend(t *testing.T, dns *dnstest.Server, environ ...string) string {
	t.Helper()
	environ = append([]string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s",
		"DISCOVERY_DNS_SERVER=" + dns.Addr(), "CLIENT_TIMEOUT=1s", "CLIENT_ATTEMPT_TIMEOUT=300ms"}, environ...)
	fe := servicetest.Start(t, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		return Run(ctx, nil, environ, stdout, opts...)
	})
	return "http://" + fe.Addr
}

func getPod(t *testing.T, url string) (int, podAnswer) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	var a podAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatalf("GET %s: body is not JSON: %v", url, err)
	}
	return res.StatusCode, a
}

// TestPodByName calls pods of a headless Service by name through a real frontend, with the
// pods' names published by a loopback DNS server the way CoreDNS publishes a StatefulSet's:
// one A record per pod, all pods on the same port.
func TestPodByName(t *testing.T) {
	t.Parallel()
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	addr0, err := podBackend(t, "127.0.0.1:0", "backend-0", http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr0)
	// The frontend runs in namespace test, so it asks for the pods' FQDNs there.
	const domain = ".backend-stateful.test.svc.cluster.local."
	dns.SetA("backend-0"+domain, "127.0.0.1")
	dns.SetA("backend-1"+domain, "127.0.0.2")           // nothing listens there: the pod is gone
	dns.SetA("backend-2"+domain, "127.0.0.1")           // a stale answer: backend-0 has the address now
	dns.SetA("backend-9.backend-stateful", "127.0.0.1") // the short name must not be asked
	type want struct {
		status int
		error  string
	}
	tests := []struct {
		path string
		want want
	}{
		{"/api/pod/backend-1", want{http.StatusServiceUnavailable, "backend unavailable: no backend accepted the connection"}},
		{"/api/pod/backend-2", want{http.StatusBadGateway, "the address of backend-2 was answered by backend-0: an out-of-date DNS answer"}},
		{"/api/pod/backend-9", want{http.StatusNotFound, "no ready pod backend-9 behind backend-stateful: DNS does not know its name"}},
		{"/api/pod/Backend-0", want{status: http.StatusBadRequest}},
		{"/api/pod/backend-0.evil.example", want{status: http.StatusBadRequest}},
		{"/api/pod/-backend", want{status: http.StatusBadRequest}},
		{"/api/pod/backend-0?n=1", want{status: http.StatusBadRequest}},
	}
	// A pod that answers 500, when this machine lets a server take port on 127.0.0.3 too.
	if _, err := podBackend(t, "127.0.0.3:"+port, "backend-3", http.StatusInternalServerError); err == nil {
		dns.SetA("backend-3"+domain, "127.0.0.3")
		tests = append(tests, struct {
			path string
			want want
		}{"/api/pod/backend-3", want{http.StatusBadGateway, "backend answered with an error or an unexpected body"}})
	}
	base := startPodFrontend(t, dns, "PODS_SERVICE=backend-stateful", "PODS_PORT="+port, "POD_NAMESPACE=test")

	t.Run("backend-0", func(t *testing.T) {
		t.Parallel()
		status, got := getPod(t, base+"/api/pod/backend-0")
		if status != http.StatusOK || got.Requested != "backend-0" || got.Backend.Pod != "backend-0" ||
			got.Discovery.Source != "dns" || got.Discovery.Name != "backend-0"+domain || got.Discovery.Addr != addr0 {
			t.Errorf("GET /api/pod/backend-0 = %d %+v, want 200 from backend-0 found via dns backend-0%s at %s", status, got, domain, addr0)
		}
	})
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			status, got := getPod(t, base+tt.path)
			if status != tt.want.status || got.Status != tt.want.status || (tt.want.error != "" && got.Error != tt.want.error) || got.Error == "" {
				t.Errorf("GET %s = %d %+v, want %d %q", tt.path, status, got, tt.want.status, tt.want.error)
			}
		})
	}
}

// TestPodByNameWithoutAnswer checks the statuses that do not depend on a pod: a frontend
// without PODS_SERVICE, and a DNS server that fails, which says nothing about the pod.
func TestPodByNameWithoutAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		environ    []string
		mode       dnstest.Mode
		wantStatus int
		wantError  string
	}{
		{"PODS_SERVICE not set", nil, dnstest.ModeAnswer, http.StatusNotFound, "this frontend calls no pods by name: PODS_SERVICE is not set"},
		{"DNS fails", []string{"PODS_SERVICE=backend-stateful"}, dnstest.ModeServFail, http.StatusServiceUnavailable,
			"backend not found: discovery has no address for it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dns, err := dnstest.Start("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dns.Close() })
			dns.SetA("backend-0.backend-stateful", "127.0.0.1")
			dns.SetMode(tt.mode)
			base := startPodFrontend(t, dns, tt.environ...)
			status, got := getPod(t, base+"/api/pod/backend-0")
			if status != tt.wantStatus || got.Error != tt.wantError {
				t.Errorf("GET /api/pod/backend-0 = %d %q, want %d %q", status, got.Error, tt.wantStatus, tt.wantError)
			}
		})
	}
}

func TestPodsConfigRefused(t *testing.T) {
	t.Parallel()
	servicetest.Refuses(t, Run, []servicetest.Refusal{
		{Name: "service not a label", Environ: []string{"PODS_SERVICE=backend-stateful.prod"}, WantVars: []string{"PODS_SERVICE"}},
		{Name: "port out of range", Environ: []string{"PODS_PORT=" + strconv.Itoa(1<<16)}, WantVars: []string{"PODS_PORT"}},
		{Name: "both", Environ: []string{"PODS_SERVICE=Backend", "PODS_PORT=0"}, WantVars: []string{"PODS_PORT", "PODS_SERVICE"}},
	})
}
