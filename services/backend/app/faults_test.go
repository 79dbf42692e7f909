package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/metrics/metricstest"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// waitLimit only guards against a hang; nothing here asserts that something was fast.
const waitLimit = 10 * time.Second

// send sends method url with body ("" for none) and returns the status and the body.
func send(t *testing.T, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	res, got := servicetest.Send(t, c, method, url, r, nil)
	return res.StatusCode, strings.TrimSpace(got)
}

// client returns a client of its own for one test, closed at its end.
func client(t *testing.T) *http.Client {
	t.Helper()
	c := &http.Client{Timeout: waitLimit, Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// putFaults sets the faults of b and fails the test unless they are taken.
func putFaults(t *testing.T, c *http.Client, b *servicetest.Service, spec string) {
	t.Helper()
	if status, body := send(t, c, http.MethodPut, b.AdminURL+"/faults", spec); status != http.StatusOK {
		t.Fatalf("PUT /faults %s = %d %s, want 200", spec, status, body)
	}
}

// TestFaultsOffByDefault checks that a backend without FAULTS=on, or with FAULTS=off, has no
// knobs at all: /faults is a 404 on both ports and no fault metric exists.
func TestFaultsOffByDefault(t *testing.T) {
	t.Parallel()
	for _, environ := range [][]string{nil, {"FAULTS=off"}} {
		t.Run(strings.Join(append([]string{"default"}, environ...), " "), func(t *testing.T) {
			t.Parallel()
			b := startBackend(t, environ...)
			c := client(t)
			for _, url := range []string{b.AdminURL + "/faults", b.URL + "/faults"} {
				for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
					if status, body := send(t, c, method, url, `{"error":503}`); status != http.StatusNotFound {
						t.Errorf("%s %s = %d %s, want 404", method, url, status, body)
					}
				}
			}
			if status, _ := send(t, c, http.MethodGet, b.URL+"/", ""); status != http.StatusOK {
				t.Errorf("GET / = %d, want 200", status)
			}
			if snap := metricstest.Scrape(t, b.AdminURL+"/metrics"); snap.Has("backend_fault_active") {
				t.Errorf("/metrics has backend_fault_active, want no fault metric when the knobs are off")
			}
		})
	}
}

// TestFaultsOnlyOnAdminPort checks that with FAULTS=on the knobs are on the admin port, which
// no Service exposes, and never on the public port, which the NodePort publishes.
func TestFaultsOnlyOnAdminPort(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "FAULTS=on")
	c := client(t)
	if status, body := send(t, c, http.MethodPut, b.URL+"/faults", `{"error":503}`); status != http.StatusNotFound {
		t.Errorf("PUT /faults on the public port = %d %s, want 404", status, body)
	}
	if status, body := send(t, c, http.MethodGet, b.AdminURL+"/faults", ""); status != http.StatusOK ||
		body != `{"delay":"0s","error":0,"percent":100,"hang":false,"readiness":"ok","flap_every":"0s","ready":true}` {
		t.Errorf("GET /faults on the admin port = %d %s, want 200 and no fault", status, body)
	}
	if status, body := send(t, c, http.MethodPost, b.AdminURL+"/faults", "{}"); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /faults = %d %s, want 405", status, body)
	}
	snap := metricstest.Scrape(t, b.AdminURL+"/metrics")
	for _, kind := range []string{"delay", "error", "hang", "readiness_fail", "readiness_flap"} {
		if !snap.Has("backend_fault_active") || snap.Value("backend_fault_active", "kind", kind) != 0 {
			t.Errorf(`backend_fault_active{kind=%q} = %v, want a 0 series`, kind, snap.Value("backend_fault_active", "kind", kind))
		}
	}
}

// TestFaultsRefuseBadInput sends PUT bodies that break the rules: each is a 400 (or a 413)
// with a JSON reason naming what is wrong, and none changes the faults.
func TestFaultsRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "FAULTS=on", "WRITE_TIMEOUT=15s")
	tests := []struct {
		name, body string
		wantStatus int
		wantReason string
	}{
		{"not JSON", `delay=1s`, 400, `want a JSON object such as {\"delay\":\"300ms\"}`},
		{"two objects", `{"hang":true}{"hang":false}`, 400, "want one JSON object"},
		{"unknown field", `{"dealy":"1s"}`, 400, `unknown field \"dealy\": want delay, error, percent, hang, readiness, flap_every`},
		{"delay without unit", `{"delay":300}`, 400, `want a duration string such as \"300ms\"`},
		{"delay not a duration", `{"delay":"soon"}`, 400, `got \"soon\"`},
		{"delay negative", `{"delay":"-1s"}`, 400, "delay: must be at least 0s"},
		{"delay past the write timeout", `{"delay":"15s"}`, 400, "shorter than the server's WRITE_TIMEOUT (15s), got 15s; a longer one is a hang"},
		{"error not a status", `{"error":200}`, 400, "error: want an HTTP status from 400 to 599, got 200"},
		{"error as a string", `{"error":"503"}`, 400, "error: want a JSON number"},
		{"hang not a boolean", `{"hang":"yes"}`, 400, "hang: want a JSON boolean"},
		{"hang and error", `{"hang":true,"error":503}`, 400, "hang and error exclude each other"},
		{"percent over 100", `{"error":503,"percent":101}`, 400, "percent: must be between 1 and 100, got 101"},
		{"percent alone", `{"percent":50}`, 400, "percent: applies to delay, error and hang, and none is set"},
		{"readiness unknown", `{"readiness":"maybe"}`, 400, `readiness: want ok, fail or flap, got \"maybe\"`},
		{"flap too fast", `{"readiness":"flap","flap_every":"100ms"}`, 400, "flap_every: must be between 1s and 10m0s, got 100ms"},
		{"flap_every without flap", `{"readiness":"fail","flap_every":"5s"}`, 400, `flap_every: applies only to readiness \"flap\"`},
		{"body too large", `{"delay":"1s"` + strings.Repeat(" ", 5000) + `}`, 413, "body over 4 KiB"},
	}
	c := client(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := send(t, c, http.MethodPut, b.AdminURL+"/faults", tt.body)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantReason) || !strings.Contains(body, `"error":`) {
				t.Errorf("PUT /faults %.60s = %d %s, want %d and a JSON reason with %s", tt.body, status, body, tt.wantStatus, tt.wantReason)
			}
		})
	}
	t.Cleanup(func() {
		// After every refusal, no fault is set.
		if status, body := send(t, c, http.MethodGet, b.AdminURL+"/faults", ""); status != 200 || !strings.Contains(body, `"error":0,`) || strings.Contains(body, "since") {
			t.Errorf("GET /faults after refused PUTs = %d %s, want no fault", status, body)
		}
	})
}

// TestFaultError sets an error status on all, then half, of GET /: the backend answers it in
// JSON, counts it, shows it as a metric and logs the change; DELETE brings the 200s back.
func TestFaultError(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "FAULTS=on", "POD_NAME=backend-error")
	c := client(t)
	putFaults(t, c, b, `{"error":503}`)
	for range 3 {
		if status, body := send(t, c, http.MethodGet, b.URL+"/", ""); status != http.StatusServiceUnavailable ||
			body != `{"error":"fault injected","status":503}` {
			t.Errorf("GET / with error 503 = %d %s, want 503 and a JSON reason", status, body)
		}
	}
	if status, body := send(t, c, http.MethodGet, b.URL+"/healthz", ""); status != http.StatusOK {
		t.Errorf("GET /healthz with error 503 = %d %s, want 200: the fault is on GET / only", status, body)
	}

	putFaults(t, c, b, `{"error":500,"percent":50}`)
	got := map[int]int{}
	for range 10 {
		status, _ := send(t, c, http.MethodGet, b.URL+"/", "")
		got[status]++
	}
	if got[500] != 5 || got[200] != 5 {
		t.Errorf("10 GET / with error 500 at 50 percent = %v, want 5 of each", got)
	}
	snap := metricstest.Scrape(t, b.AdminURL+"/metrics")
	if v := snap.Value("backend_fault_active", "kind", "error"); v != 1 {
		t.Errorf(`backend_fault_active{kind="error"} = %v, want 1`, v)
	}
	if v := snap.Value("backend_fault_injected_total", "kind", "error"); v != 8 {
		t.Errorf(`backend_fault_injected_total{kind="error"} = %v, want 8 (3 + 5)`, v)
	}

	if status, body := send(t, c, http.MethodDelete, b.AdminURL+"/faults", ""); status != http.StatusOK || !strings.Contains(body, `"error":0,`) {
		t.Errorf("DELETE /faults = %d %s, want 200 and no fault", status, body)
	}
	if id := getIdentity(t, b.URL+"/"); id.Pod != "backend-error" {
		t.Errorf("GET / after DELETE = %+v, want backend-error's identity", id)
	}
	if v := metricstest.Scrape(t, b.AdminURL+"/metrics").Value("backend_fault_active", "kind", "error"); v != 0 {
		t.Errorf(`backend_fault_active{kind="error"} after DELETE = %v, want 0`, v)
	}
	var set, cleared int
	for _, l := range b.LogLines() {
		switch l["msg"] {
		case "faults set":
			set++
			if l["level"] != "INFO" || l["error"] == nil || l["percent"] == nil {
				t.Errorf("log %v, want an INFO line with the faults", l)
			}
		case "faults cleared":
			cleared++
		}
	}
	if set != 2 || cleared != 1 {
		t.Errorf(`logs have %d "faults set" and %d "faults cleared", want 2 and 1`, set, cleared)
	}
}

// TestFaultDelay delays GET /: the answer is the identity, no sooner than the delay, and a
// client that gives up first ends the wait.
func TestFaultDelay(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "FAULTS=on", "POD_NAME=backend-delay")
	c := client(t)
	putFaults(t, c, b, `{"delay":"200ms"}`)
	start := time.Now()
	if id := getIdentity(t, b.URL+"/"); id.Pod != "backend-delay" {
		t.Errorf("GET / with a delay = %+v, want backend-delay's identity", id)
	}
	// A lower bound, which no slow machine can break: the delay is a minimum.
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Errorf("GET / with a 200ms delay answered after %v, want at least 200ms", elapsed)
	}

	putFaults(t, c, b, `{"delay":"10s"}`)
	impatient := &http.Client{Timeout: 50 * time.Millisecond, Transport: &http.Transport{}}
	defer impatient.CloseIdleConnections()
	if res, err := impatient.Get(b.URL + "/"); err == nil {
		res.Body.Close()
		t.Fatalf("GET / with a 10s delay and a 50ms client = %d, want the client to give up", res.StatusCode)
	}
	// The server's side of the request ends when its client leaves, not 10s later.
	waitAccessLog(t, b, http.StatusServiceUnavailable)
	if v := metricstest.Scrape(t, b.AdminURL+"/metrics").Value("backend_fault_injected_total", "kind", "delay"); v != 2 {
		t.Errorf(`backend_fault_injected_total{kind="delay"} = %v, want 2`, v)
	}
}

// waitAccessLog waits for the access log line of a GET / that ended with status.
func waitAccessLog(t *testing.T, b *servicetest.Service, status int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		for _, l := range b.LogLines() {
			if l["msg"] == "http request" && l["path"] == "/" && l["status"] == float64(status) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line for GET / with status %d within %v; logs:\n%s", status, waitLimit, b.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFaultHang makes GET / hang: a client with a deadline gets no answer, and the request
// ends on the server when the client leaves; with no client deadline, the server's
// WRITE_TIMEOUT ends it.
func TestFaultHang(t *testing.T) {
	t.Parallel()
	t.Run("client gives up", func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, "FAULTS=on", "WRITE_TIMEOUT=1m")
		putFaults(t, client(t), b, `{"hang":true}`)
		impatient := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{}}
		defer impatient.CloseIdleConnections()
		if res, err := impatient.Get(b.URL + "/"); err == nil {
			res.Body.Close()
			t.Fatalf("GET / while hanging = %d, want no answer", res.StatusCode)
		}
		waitAccessLog(t, b, http.StatusServiceUnavailable)
		snap := metricstest.Scrape(t, b.AdminURL+"/metrics")
		if snap.Value("backend_fault_active", "kind", "hang") != 1 || snap.Value("backend_fault_injected_total", "kind", "hang") != 1 {
			t.Errorf("backend_fault_active, backend_fault_injected_total{kind=hang} = %v, %v; want 1, 1",
				snap.Value("backend_fault_active", "kind", "hang"), snap.Value("backend_fault_injected_total", "kind", "hang"))
		}
	})
	t.Run("write timeout", func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, "FAULTS=on", "WRITE_TIMEOUT=300ms", "READ_HEADER_TIMEOUT=100ms", "READ_TIMEOUT=300ms")
		c := client(t) // its timeout, waitLimit, only guards the test
		putFaults(t, c, b, `{"hang":true}`)
		res, err := c.Get(b.URL + "/")
		if err == nil {
			res.Body.Close()
			t.Fatalf("GET / while hanging = %d, want the connection closed without an answer", res.StatusCode)
		}
		waitAccessLog(t, b, http.StatusServiceUnavailable)
	})
}

// TestFaultHangShutdown stops a backend with a hung request in flight: shutdown ends the
// hang, so it finishes cleanly within SHUTDOWN_TIMEOUT (a hang outliving it would make Stop
// return "shutdown: context deadline exceeded"), and no goroutine is left behind. It does not
// run in parallel, so that the goroutine count is its own.
func TestFaultHangShutdown(t *testing.T) {
	base := runtime.NumGoroutine()
	b := startBackend(t, "FAULTS=on", "WRITE_TIMEOUT=1m", "SHUTDOWN_TIMEOUT=5s")
	c := &http.Client{Transport: &http.Transport{}}
	putFaults(t, c, b, `{"hang":true}`)
	answered := make(chan int, 1)
	go func() {
		res, err := c.Get(b.URL + "/")
		if err != nil {
			answered <- 0
			return
		}
		res.Body.Close()
		answered <- res.StatusCode
	}()
	deadline := time.Now().Add(waitLimit)
	for metricstest.Scrape(t, b.AdminURL+"/metrics").Value("backend_fault_injected_total", "kind", "hang") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the GET / never reached the hang")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("Stop with a hung request = %v, want a clean shutdown", err)
	}
	if status := <-answered; status != http.StatusServiceUnavailable {
		t.Errorf("hung GET / at shutdown = %d, want 503", status)
	}
	c.CloseIdleConnections()
	servicetest.WaitGoroutines(t, base)
}

// TestFaultReadiness fails /readyz, then makes it flap: GET / and /healthz keep answering,
// as a pod taken out of the Service's endpoints but alive does.
func TestFaultReadiness(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "FAULTS=on")
	c := client(t)
	putFaults(t, c, b, `{"readiness":"fail"}`)
	if status, body := send(t, c, http.MethodGet, b.URL+"/readyz", ""); status != http.StatusServiceUnavailable || body != `{"status":"not ready"}` {
		t.Errorf("GET /readyz with readiness fail = %d %s, want 503 not ready", status, body)
	}
	for _, path := range []string{"/healthz", "/"} {
		if status, _ := send(t, c, http.MethodGet, b.URL+path, ""); status != http.StatusOK {
			t.Errorf("GET %s with readiness fail = %d, want 200", path, status)
		}
	}
	if v := metricstest.Scrape(t, b.AdminURL+"/metrics").Value("backend_fault_active", "kind", "readiness_fail"); v != 1 {
		t.Errorf(`backend_fault_active{kind="readiness_fail"} = %v, want 1`, v)
	}
	_, body := send(t, c, http.MethodGet, b.AdminURL+"/faults", "")
	var st struct {
		Readiness string
		Ready     bool
		Since     time.Time
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Readiness != "fail" || st.Ready || st.Since.IsZero() {
		t.Errorf("GET /faults = %s (%v), want readiness fail, ready false and since", body, err)
	}

	// Flapping: 503 for the first second, 200 for the next, and so on.
	putFaults(t, c, b, `{"readiness":"flap","flap_every":"1s"}`)
	for i, want := range []int{503, 200, 503} {
		deadline := time.Now().Add(waitLimit)
		for {
			status, _ := send(t, c, http.MethodGet, b.URL+"/readyz", "")
			if status == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /readyz while flapping: answer %d never became %d", i+1, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	flips := 0
	for _, l := range b.LogLines() {
		if l["msg"] == "fault readiness flipped" {
			flips++
		}
	}
	// Ready -> fail, then flapping from not ready: -> ready -> not ready.
	if flips < 3 {
		t.Errorf(`logs have %d "fault readiness flipped", want at least 3`, flips)
	}

	send(t, c, http.MethodDelete, b.AdminURL+"/faults", "")
	if status, _ := send(t, c, http.MethodGet, b.URL+"/readyz", ""); status != http.StatusOK {
		t.Errorf("GET /readyz after DELETE = %d, want 200", status)
	}
}
