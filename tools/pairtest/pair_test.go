package pairtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
	backend "github.com/svc2svc/svc2svc/services/backend/app"
	"github.com/svc2svc/svc2svc/services/frontend/app"
)

// The integration tests start real backends and real frontends through their Run functions on
// loopback, with a DNS server of their own: nothing reaches beyond the machine.

// frontendView is the JSON the frontend answers GET / with.
type frontendView struct {
	Backend struct {
		Service, Pod, Namespace string
	} `json:"backend"`
	Discovery struct {
		Source, Name, Addr, Scheme string
	} `json:"discovery"`
	Attempts  int     `json:"attempts"`
	LatencyMS float64 `json:"latency_ms"`
	TraceID   string  `json:"trace_id"`
}

// failureBody is the JSON of a failed call.
type failureBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
	Tried  struct {
		Source   string   `json:"source"`
		Addrs    []string `json:"addrs"`
		Attempts int      `json:"attempts"`
	} `json:"tried"`
}

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// startBackend runs a backend named name; environ adds to (or overrides) its defaults.
func startBackend(t *testing.T, name string, environ ...string) *servicetest.Service {
	t.Helper()
	environ = append([]string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAME=" + name, "POD_NAMESPACE=test", "POD_IP=127.0.0.1"}, environ...)
	return servicetest.Start(t, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		return backend.Run(ctx, nil, environ, stdout, opts...)
	})
}

func startFrontend(t *testing.T, environ ...string) *servicetest.Service {
	t.Helper()
	environ = append([]string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAME=frontend-test"}, environ...)
	return servicetest.Start(t, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		return app.Run(ctx, nil, environ, stdout, opts...)
	})
}

func startDNS(t *testing.T) *dnstest.Server {
	t.Helper()
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("dnstest.Start: %v", err)
	}
	t.Cleanup(func() { dns.Close() })
	return dns
}

func port(t *testing.T, addr string) uint16 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("SplitHostPort(%q): %v", addr, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		t.Fatalf("port of %q: %v", addr, err)
	}
	return uint16(n)
}

// threeBackends starts backend-1..3 with environ and publishes them in dns the way the local
// run does: one SRV target per replica.
func threeBackends(t *testing.T, dns *dnstest.Server, environ ...string) []*servicetest.Service {
	t.Helper()
	var backends []*servicetest.Service
	var targets []dnstest.SRV
	for i := 1; i <= 3; i++ {
		b := startBackend(t, fmt.Sprintf("backend-%d", i), environ...)
		host := fmt.Sprintf("backend-%d.test.local", i)
		dns.SetA(host, "127.0.0.1")
		targets = append(targets, dnstest.SRV{Target: host, Port: port(t, b.Addr)})
		backends = append(backends, b)
	}
	dns.SetSRV("_http._tcp.backend-service", targets...)
	return backends
}

func get(t *testing.T, url, accept string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return res.StatusCode, res.Header, body
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

func TestPairThroughDNS(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	threeBackends(t, dns)
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http")

	status, _, body := get(t, fe.URL+"/", "application/json")
	if status != http.StatusOK {
		t.Fatalf("GET / = %d %s, want 200", status, body)
	}
	v := decode[frontendView](t, body)
	if v.Discovery.Source != "dns" || !strings.HasPrefix(v.Backend.Pod, "backend-") || v.Backend.Namespace != "test" {
		t.Errorf("GET / = %+v, want a backend pod found through dns", v)
	}
	if v.Attempts != 1 || !traceIDPattern.MatchString(v.TraceID) {
		t.Errorf("GET / attempts, trace id = %d, %q; want 1 and a 32-hex trace id", v.Attempts, v.TraceID)
	}

	status, _, body = get(t, fe.URL+"/api/spread?n=30", "")
	if status != http.StatusOK {
		t.Fatalf("GET /api/spread?n=30 = %d %s, want 200", status, body)
	}
	spread := decode[struct {
		Requested, Succeeded, Failed int
		ByPod                        map[string]int `json:"by_pod"`
		BySource                     map[string]int `json:"by_source"`
	}](t, body)
	if spread.Requested != 30 || spread.Succeeded != 30 || spread.Failed != 0 || spread.BySource["dns"] != 30 {
		t.Errorf("spread = %+v, want 30 of 30 through dns", spread)
	}
	if len(spread.ByPod) != 3 {
		t.Errorf("spread reached pods %v, want all of backend-1..3", spread.ByPod)
	}
}

func TestPairThroughEnvFallback(t *testing.T) {
	t.Parallel()
	dns := startDNS(t) // knows no names: every lookup is NXDOMAIN, as for a Service DNS can't find
	b := startBackend(t, "backend-env")
	_, p, _ := net.SplitHostPort(b.Addr)
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http",
		"BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=1",
		"BACKEND_SERVICE_SERVICE_PORT_HTTP="+p, "BACKEND_SERVICE_PORT=tcp://127.0.0.1:1")

	status, _, body := get(t, fe.URL+"/", "application/json")
	if status != http.StatusOK {
		t.Fatalf("GET / = %d %s, want 200", status, body)
	}
	v := decode[frontendView](t, body)
	if v.Discovery.Source != "env" || v.Backend.Pod != "backend-env" || v.Discovery.Addr != "127.0.0.1:"+p {
		t.Errorf("GET / = %+v, want backend-env at 127.0.0.1:%s found through env", v, p)
	}

	status, header, text := get(t, fe.URL+"/", "")
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET / (curl) = %d %s, want 200 text/plain", status, header.Get("Content-Type"))
	}
	for _, line := range []string{"pod: backend-env\n", "found via: env (", "attempts: 1\n", "trace id: "} {
		if !strings.Contains(string(text), line) {
			t.Errorf("GET / (curl) = %q, want a line %q", text, line)
		}
	}

	status, header, html := get(t, fe.URL+"/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") || !strings.Contains(string(html), "backend-env") {
		t.Errorf("GET / (browser) = %d %s %q, want an HTML page naming backend-env", status, header.Get("Content-Type"), html)
	}
}

// TestDeadBackend checks every way the backend can be missing: the frontend answers
// 502/503/504 with what it tried, within its deadline, and never hangs.
func TestDeadBackend(t *testing.T) {
	t.Parallel()
	closed := closedPort(t)
	silent := silentListener(t)
	broken := brokenBackend(t)
	tests := []struct {
		name       string
		environ    []string
		wantStatus int
		wantTried  int
	}{
		{
			name:       "not found anywhere",
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name:       "connection refused",
			environ:    []string{"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + closed},
			wantStatus: http.StatusServiceUnavailable,
			wantTried:  3,
		},
		{
			name:       "answers 500",
			environ:    []string{"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + broken},
			wantStatus: http.StatusBadGateway,
		},
		{
			name: "never answers",
			environ: []string{"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + silent,
				"CLIENT_TIMEOUT=400ms", "CLIENT_ATTEMPT_TIMEOUT=150ms"},
			wantStatus: http.StatusGatewayTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dns := startDNS(t)
			fe := startFrontend(t, append([]string{"DISCOVERY_DNS_SERVER=" + dns.Addr()}, tt.environ...)...)
			status, _, body := get(t, fe.URL+"/", "application/json")
			if status != tt.wantStatus {
				t.Fatalf("GET / = %d %s, want %d", status, body, tt.wantStatus)
			}
			f := decode[failureBody](t, body)
			if f.Status != tt.wantStatus || f.Error == "" || f.Tried.Addrs == nil {
				t.Errorf("GET / body = %+v, want status %d, a reason and what was tried", f, tt.wantStatus)
			}
			if tt.wantTried > 0 && (f.Tried.Attempts != tt.wantTried || len(f.Tried.Addrs) != 1 || f.Tried.Source != "env") {
				t.Errorf("GET / tried = %+v, want %d attempts at the one env address", f.Tried, tt.wantTried)
			}
			if strings.Contains(string(body), "goroutine") || strings.Contains(string(body), ".go:") {
				t.Errorf("GET / body leaks internals: %s", body)
			}
		})
	}
}

// brokenBackend answers every request with a 500 and a stack-trace-like body, which the
// frontend must neither retry nor pass on.
func brokenBackend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "panic: runtime error\ngoroutine 1 [running]:\nmain.go:12", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

// closedPort returns a loopback port nothing listens on: connections to it are refused.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	_, p, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return p
}

// silentListener accepts connections and never answers, like a backend stuck in a deadlock.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
			close(done)
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

func TestSpreadRejectsBadN(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr())
	for _, q := range []string{"n=0", "n=101", "n=1000", "n=abc", "n=-5", "n=", "n=1.5"} {
		t.Run(q, func(t *testing.T) {
			t.Parallel()
			status, header, body := get(t, fe.URL+"/api/spread?"+q, "")
			if status != http.StatusBadRequest || !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
				t.Fatalf("GET /api/spread?%s = %d %s, want 400 JSON", q, status, header.Get("Content-Type"))
			}
			if e := decode[map[string]any](t, body); !strings.Contains(fmt.Sprint(e["error"]), "1 to 100") {
				t.Errorf("GET /api/spread?%s body = %s, want a reason naming the range", q, body)
			}
		})
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	servicetest.Refuses(t, app.Run, []servicetest.Refusal{
		{
			Name:     "several bad values",
			Environ:  []string{"PORT=abc", "CLIENT_TIMEOUT=-1s", "LOG_LEVEL=loud", "DISCOVERY_TTL=soon"},
			WantVars: []string{"CLIENT_TIMEOUT", "DISCOVERY_TTL", "LOG_LEVEL", "PORT"},
		},
		{
			// A bad variable no longer hides the rules: one line per variable.
			Name:     "bad values and broken rules at once",
			Environ:  []string{"PORT=abc", "SPREAD_TIMEOUT=1h", "DISCOVERY_MODE=foo"},
			WantVars: []string{"DISCOVERY_MODE", "PORT", "SPREAD_TIMEOUT"},
		},
		{
			Name:     "rules of each package",
			Environ:  []string{"SPREAD_TIMEOUT=20s", "CLIENT_TIMEOUT=1s", "CLIENT_ATTEMPT_TIMEOUT=2s", "READ_HEADER_TIMEOUT=11s"},
			WantVars: []string{"CLIENT_ATTEMPT_TIMEOUT", "READ_HEADER_TIMEOUT", "SPREAD_TIMEOUT"},
		},
		{
			// A hung backend would otherwise get an empty reply from the server's WriteTimeout
			// instead of a 504.
			Name:     "client timeout beyond the server's write timeout",
			Environ:  []string{"CLIENT_TIMEOUT=20s", "WRITE_TIMEOUT=15s"},
			WantVars: []string{"CLIENT_TIMEOUT"},
		},
		{
			Name: "zero, absurd and unresolvable values",
			Environ: []string{"READ_HEADER_TIMEOUT=0", "READ_TIMEOUT=0", "SHUTDOWN_TIMEOUT=0", "DISCOVERY_DNS_SERVER=10.96.0.10",
				"DISCOVERY_TTL=2562047h", "CLIENT_CONNECT_TIMEOUT=5m", "LISTEN_HOST=localhost", "CLIENT_MAX_CONN_AGE=0"},
			WantVars: []string{"CLIENT_CONNECT_TIMEOUT", "CLIENT_MAX_CONN_AGE", "DISCOVERY_DNS_SERVER", "DISCOVERY_TTL",
				"LISTEN_HOST", "READ_HEADER_TIMEOUT", "READ_TIMEOUT", "SHUTDOWN_TIMEOUT"},
		},
		{
			// The spread's budget: a 0 or a cap beyond the old 1000 is a typo, not a setting.
			Name:     "spread budget out of bounds",
			Environ:  []string{"SPREAD_MAX_N=5000", "SPREAD_MAX_IN_FLIGHT=0"},
			WantVars: []string{"SPREAD_MAX_IN_FLIGHT", "SPREAD_MAX_N"},
		},
		{Name: "unknown mode", Args: []string{"serve"}, WantText: []string{"usage"}},
		{Name: "unknown discovery mode", Environ: []string{"DISCOVERY_MODE=consul"}, WantVars: []string{"DISCOVERY_MODE"}},
		{
			// Outside a pod there is no API server to watch: stop rather than pretend.
			Name:     "endpointslices outside a cluster",
			Environ:  []string{"DISCOVERY_MODE=endpointslices", "DISCOVERY_SKIP_DNS=true"},
			WantText: []string{"DISCOVERY_MODE=endpointslices", "KUBERNETES_SERVICE_HOST"},
		},
		{
			Name:     "CLIENT_TLS_DIR without a ca.crt",
			Environ:  []string{"CLIENT_TLS_DIR=/nonexistent/tls", "DISCOVERY_SKIP_DNS=true"},
			WantText: []string{"CLIENT_TLS_DIR", "ca.crt"},
		},
	})
}

func TestCallOnce(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	threeBackends(t, dns)
	environ := []string{"DISCOVERY_DNS_SERVER=" + dns.Addr(), "DISCOVERY_PORT_NAME=http"}
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Run(ctx, []string{"call"}, environ, &out); err != nil {
		t.Fatalf("Run(call) = %v, want nil; output:\n%s", err, out.String())
	}
	if !regexp.MustCompile(`(?m)^pod: backend-[123]$`).MatchString(out.String()) {
		t.Errorf("Run(call) printed %q, want a line naming the backend pod", out.String())
	}

	out.Reset()
	err := app.Run(ctx, []string{"call"}, []string{"DISCOVERY_SKIP_DNS=true", "CALL_WAIT=1s"}, &out)
	if err == nil || !strings.Contains(out.String(), "failed (503") {
		t.Errorf("Run(call) without a backend = %v, printed %q; want an error and a 503 report", err, out.String())
	}
	if n := strings.Count(out.String(), "will retry"); n < 2 {
		t.Errorf("Run(call) without a backend and CALL_WAIT=1s logged %d retries, want at least 2:\n%s", n, out.String())
	}
}

// TestCallOnceWaitsForRefusedConnects is the client Job's first seconds under an enforced
// NetworkPolicy: the backend's address refuses connections at first, then accepts them. The
// one-shot call keeps trying (within CALL_WAIT) and prints the answer.
func TestCallOnceWaitsForRefusedConnects(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from now on, until the backend takes the port below
	environ := []string{"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1",
		"BACKEND_SERVICE_SERVICE_PORT=" + strconv.Itoa(int(port(t, addr))), "CALL_WAIT=20s"}
	var out servicetest.Buffer
	done := make(chan error, 1)
	go func() { done <- app.Run(t.Context(), []string{"call"}, environ, &out) }()
	// The backend comes up once the call has been refused at least once.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "will retry") {
		if time.Now().After(deadline) {
			t.Fatalf("Run(call) logged no refused try in 15s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	startBackend(t, "backend-late", "PORT="+strconv.Itoa(int(port(t, addr))))
	if err := <-done; err != nil {
		t.Fatalf("Run(call) = %v, want nil once the backend listens; output:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "pod: backend-late") {
		t.Errorf("Run(call) printed %q, want the late backend's answer", out.String())
	}
}
