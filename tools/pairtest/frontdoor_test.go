package pairtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// sizeless hides a body's length from net/http's client, which then sends it chunked.
type sizeless struct{ io.Reader }

// send makes one request to a running service and returns the response with its body read.
func send(t *testing.T, method, url string, body io.Reader, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s) = %v", method, url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s = %v, want a response", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body = %v", method, url, err)
	}
	return res, string(b)
}

var freshID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// TestFrontDoor sends the frontend, with three real backends behind it, each probe of the
// issue "a front door that strangers cannot knock over", one row per probe.
func TestFrontDoor(t *testing.T) {
	t.Parallel()
	dns := startDNS(t)
	threeBackends(t, dns)
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", "MAX_BODY_BYTES=1048576")
	browser := http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		body       func() io.Reader
		wantStatus int
		wantBody   string // a substring of the body; "-" wants none
		wantHeader map[string]string
		check      func(t *testing.T, res *http.Response, body string)
	}{
		{name: "spread n over the budget", method: "GET", path: "/api/spread?n=1000", wantStatus: 400,
			wantBody: `"n must be an integer from 1 to 100"`},
		{name: "spread n at the budget", method: "GET", path: "/api/spread?n=100", wantStatus: 200,
			wantBody: `"succeeded":100`},
		{name: "spread n repeated", method: "GET", path: "/api/spread?n=3&n=4", wantStatus: 400,
			wantBody: `query parameter \"n\" given 2 times`},
		{name: "spread n separated by ;", method: "GET", path: "/api/spread?n=3;n=4", wantStatus: 400,
			wantBody: `"malformed query string"`},
		{name: "spread with an unknown parameter", method: "GET", path: "/api/spread?n=5&bogus=1", wantStatus: 400,
			wantBody: `unknown query parameter \"bogus\"`},
		{name: "spread keepalive other than 0 or 1", method: "GET", path: "/api/spread?keepalive=yes", wantStatus: 400,
			wantBody: `"keepalive must be 0 or 1"`},
		{name: "HEAD /", method: "HEAD", path: "/", wantStatus: 200, wantBody: "-"},
		{name: "HEAD /healthz", method: "HEAD", path: "/healthz", wantStatus: 200, wantBody: "-"},
		{name: "HEAD /readyz", method: "HEAD", path: "/readyz", wantStatus: 200, wantBody: "-"},
		{
			name: "body of 2 MB with Content-Length", method: "POST", path: "/",
			body:       func() io.Reader { return bytes.NewReader(make([]byte, 2<<20)) },
			wantStatus: 413, wantBody: `"request body too large"`,
		},
		{
			name: "body of 50 MB chunked", method: "GET", path: "/",
			body:       func() io.Reader { return sizeless{bytes.NewReader(make([]byte, 50<<20))} },
			wantStatus: 413, wantBody: `"request body too large"`,
		},
		{
			name: "request id of 60 KB", method: "GET", path: "/healthz",
			header:     http.Header{"X-Request-Id": {strings.Repeat("a", 60<<10)}},
			wantStatus: 200, wantBody: `"ok"`,
			check: func(t *testing.T, res *http.Response, _ string) {
				if id := res.Header.Get("X-Request-Id"); !freshID.MatchString(id) || strings.Trim(id, "a") == "" {
					t.Errorf("X-Request-Id = %.80q, want a fresh id", id)
				}
			},
		},
		{
			name: "HTML page", method: "GET", path: "/", header: browser, wantStatus: 200, wantBody: `href="/style.css"`,
			wantHeader: map[string]string{
				"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
			},
			check: func(t *testing.T, _ *http.Response, body string) {
				for _, inline := range []string{"<style", "<script", "style=", " on"} {
					if strings.Contains(body, inline) {
						t.Errorf("GET / (browser) has %q inline, which the policy blocks", inline)
					}
				}
			},
		},
		{
			name: "text answer", method: "GET", path: "/", wantStatus: 200, wantBody: "frontend -> backend: ok",
			wantHeader: map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"},
		},
		{name: "stylesheet", method: "GET", path: "/style.css", wantStatus: 200, wantBody: "font-family",
			wantHeader: map[string]string{"Content-Type": "text/css; charset=utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			res, got := send(t, tt.method, fe.URL+tt.path, body, tt.header)
			if res.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d %.200s, want %d", tt.method, tt.path, res.StatusCode, got, tt.wantStatus)
			}
			if tt.wantBody == "-" && got != "" || tt.wantBody != "-" && !strings.Contains(got, tt.wantBody) {
				t.Errorf("%s %s body = %.200q, want %q", tt.method, tt.path, got, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s %s header %s = %q, want %q", tt.method, tt.path, k, got, want)
				}
			}
			if tt.check != nil {
				tt.check(t, res, got)
			}
		})
	}
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

	res, body := send(t, "GET", fe.URL+"/api/spread?n=1", nil, nil)
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
	if res, body := send(t, "GET", fe.URL+"/healthz", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz while a spread is in flight = %d %s, want 200", res.StatusCode, body)
	}

	close(release)
	released = true
	if status := <-first; status != http.StatusOK {
		t.Fatalf("first GET /api/spread = %d, want 200", status)
	}
	if res, body := send(t, "GET", fe.URL+"/api/spread?n=1", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/spread after the first ended = %d %s, want 200", res.StatusCode, body)
	}
}
