package pairtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// TestFrontDoor sends the frontend, with three real backends behind it, each probe of the
// issue "a front door that strangers cannot knock over", one row per probe.
func TestFrontDoor(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	threeBackends(t, dns)
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", "MAX_BODY_BYTES=1048576")
	browser := http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}
	servicetest.CheckProbes(t, http.DefaultClient, fe.URL, []servicetest.Probe{
		{Name: "spread n over the budget", Method: "GET", Path: "/api/spread?n=1000", WantStatus: 400,
			WantBody: `"n must be an integer from 1 to 100"`},
		{Name: "spread n at the budget", Method: "GET", Path: "/api/spread?n=100", WantStatus: 200,
			WantBody: `"succeeded":100`},
		{Name: "spread n repeated", Method: "GET", Path: "/api/spread?n=3&n=4", WantStatus: 400,
			WantBody: `query parameter \"n\" given 2 times`},
		{Name: "spread n separated by ;", Method: "GET", Path: "/api/spread?n=3;n=4", WantStatus: 400,
			WantBody: `"malformed query string"`},
		{Name: "spread with an unknown parameter", Method: "GET", Path: "/api/spread?n=5&bogus=1", WantStatus: 400,
			WantBody: `unknown query parameter \"bogus\"`},
		{Name: "spread keepalive other than 0 or 1", Method: "GET", Path: "/api/spread?keepalive=yes", WantStatus: 400,
			WantBody: `"keepalive must be 0 or 1"`},
		{Name: "HEAD /", Method: "HEAD", Path: "/", WantStatus: 200, WantBody: "-"},
		{Name: "HEAD /healthz", Method: "HEAD", Path: "/healthz", WantStatus: 200, WantBody: "-"},
		{Name: "HEAD /readyz", Method: "HEAD", Path: "/readyz", WantStatus: 200, WantBody: "-"},
		{
			Name: "body of 2 MB with Content-Length", Method: "POST", Path: "/",
			Body:       func() io.Reader { return bytes.NewReader(make([]byte, 2<<20)) },
			WantStatus: 413, WantBody: `"request body too large"`,
		},
		{
			Name: "body of 50 MB chunked", Method: "GET", Path: "/",
			Body:       func() io.Reader { return servicetest.Chunked(bytes.NewReader(make([]byte, 50<<20))) },
			WantStatus: 413, WantBody: `"request body too large"`,
		},
		{
			Name: "request id of 60 KB", Method: "GET", Path: "/healthz",
			Header:     http.Header{"X-Request-Id": {strings.Repeat("a", 60<<10)}},
			WantStatus: 200, WantBody: `"ok"`,
			Check: func(t *testing.T, res *http.Response, _ string) {
				if id := res.Header.Get("X-Request-Id"); !servicetest.RequestIDPattern.MatchString(id) || strings.Trim(id, "a") == "" {
					t.Errorf("X-Request-Id = %.80q, want a fresh id", id)
				}
			},
		},
		{
			Name: "HTML page", Method: "GET", Path: "/", Header: browser, WantStatus: 200, WantBody: `href="/style.css"`,
			WantHeader: map[string]string{
				// The page's own script, /live.js, and its requests to /api/live, and nothing else.
				"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; script-src 'self'; connect-src 'self'",
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
			},
			Check: func(t *testing.T, _ *http.Response, body string) {
				for _, inline := range []string{"<style", "style=", " on"} {
					if strings.Contains(body, inline) {
						t.Errorf("GET / (browser) has %q inline, which the policy blocks", inline)
					}
				}
				// Scripts only from the frontend's own files.
				if all, own := strings.Count(body, "<script"), strings.Count(body, `<script src="/`); all != own {
					t.Errorf("GET / (browser) has %d scripts, %d of them not a file of its own (inline), which the policy blocks", all, all-own)
				}
			},
		},
		{
			Name: "text answer", Method: "GET", Path: "/", WantStatus: 200, WantBody: "frontend -> backend: ok",
			WantHeader: map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"},
		},
		{Name: "stylesheet", Method: "GET", Path: "/style.css", WantStatus: 200, WantBody: "font-family",
			WantHeader: map[string]string{"Content-Type": "text/css; charset=utf-8"}},
	})
}

// TestSpreadBudget holds one spread in flight on a backend that answers only when told to,
// and checks that a second one is refused at once with 429, Retry-After and a JSON reason,
// and that the slot is free again once the first has finished.
func TestSpreadBudget(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `{"pod":"gated"}`)
	}))
	t.Cleanup(gated.Close)
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
	})
	_, p, _ := net.SplitHostPort(gated.Listener.Addr().String())
	fe := startFrontend(t, "DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT="+p)

	first := make(chan int, 1)
	go func() {
		res, err := http.Get(fe.URL + "/api/spread?n=1")
		if err != nil {
			first <- 0
			return
		}
		res.Body.Close()
		first <- res.StatusCode
	}()
	<-arrived

	res, body := servicetest.Send(t, http.DefaultClient, "GET", fe.URL+"/api/spread?n=1", nil, nil)
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" ||
		e.Status != 429 || !strings.Contains(e.Error, "too many spreads at once") {
		t.Errorf("GET /api/spread while one is in flight = %d Retry-After %q %s, want 429, Retry-After 1 and a JSON reason",
			res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	// GET / does not wait for the spread's slot.
	if res, body := servicetest.Send(t, http.DefaultClient, "GET", fe.URL+"/healthz", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz while a spread is in flight = %d %s, want 200", res.StatusCode, body)
	}

	close(release)
	released = true
	if status := <-first; status != http.StatusOK {
		t.Fatalf("first GET /api/spread = %d, want 200", status)
	}
	if res, body := servicetest.Send(t, http.DefaultClient, "GET", fe.URL+"/api/spread?n=1", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/spread after the first ended = %d %s, want 200", res.StatusCode, body)
	}
}
