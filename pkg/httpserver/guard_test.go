package httpserver_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// unsized hides a body's length from net/http's client, which then sends it chunked.
type unsized struct{ io.Reader }

// validID is what every echoed or logged request id must look like.
var validID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// TestProbes sends, to a real server on loopback, each request a stranger might use to knock
// it over or to abuse it from a browser, one row per probe, and checks the answer.
func TestProbes(t *testing.T) {
	t.Parallel()
	srv := start(t, testConfig(t, "MAX_BODY_BYTES=1024"), httpserver.Deps{}, testRoutes)
	longID := strings.Repeat("a", 60<<10)
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		body       func() io.Reader
		wantStatus int
		wantBody   string // a substring of the body; "-" wants none
		wantHeader map[string]string
		check      func(t *testing.T, res *http.Response)
	}{
		{
			name: "body over the limit with Content-Length", method: "POST", path: "/upload",
			body:       func() io.Reader { return bytes.NewReader(make([]byte, 2<<20)) },
			wantStatus: 413, wantBody: `"request body too large"`,
		},
		{
			name: "body over the limit chunked", method: "POST", path: "/upload",
			body:       func() io.Reader { return unsized{bytes.NewReader(make([]byte, 2<<20))} },
			wantStatus: 413, wantBody: `"request body too large"`,
		},
		{
			name: "chunked body to a route that ignores bodies", method: "GET", path: "/healthz",
			body:       func() io.Reader { return unsized{bytes.NewReader(make([]byte, 4096))} },
			wantStatus: 413, wantBody: `"request body too large"`,
		},
		{
			name: "chunked body within the limit", method: "POST", path: "/upload",
			body:       func() io.Reader { return unsized{strings.NewReader(strings.Repeat("a", 1024))} },
			wantStatus: 200, wantBody: `{"bytes":1024}`,
		},
		{
			name: "body over the limit to an unknown path", method: "PUT", path: "/nope",
			body:       func() io.Reader { return bytes.NewReader(make([]byte, 2048)) },
			wantStatus: 413, wantBody: `"request body too large"`,
		},
		{name: "HEAD /healthz", method: "HEAD", path: "/healthz", wantStatus: 200, wantBody: "-"},
		{name: "HEAD /readyz", method: "HEAD", path: "/readyz", wantStatus: 200, wantBody: "-"},
		{name: "HEAD of a GET route", method: "HEAD", path: "/items/7", wantStatus: 200, wantBody: "-",
			wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "HEAD of a POST-only route", method: "HEAD", path: "/upload", wantStatus: 405, wantBody: "-",
			wantHeader: map[string]string{"Allow": "POST"}},
		{name: "query with ;", method: "GET", path: "/items/7?n=3;n=4", wantStatus: 400, wantBody: `"malformed query string"`},
		{name: "query with a broken escape", method: "GET", path: "/items/7?n=%zz", wantStatus: 400, wantBody: `"malformed query string"`},
		{
			name: "request id of 60 KB", method: "GET", path: "/healthz",
			header:     http.Header{"X-Request-Id": {longID}},
			wantStatus: 200, wantBody: `"ok"`,
			check: func(t *testing.T, res *http.Response) {
				if id := res.Header.Get("X-Request-Id"); !validID.MatchString(id) || id == longID[:len(id)] {
					t.Errorf("X-Request-Id = %.80q, want a fresh id instead of the caller's 60 KB", id)
				}
			},
		},
		{
			name: "request id with markup", method: "GET", path: "/healthz",
			header:     http.Header{"X-Request-Id": {"<script>alert(1)</script>"}},
			wantStatus: 200, wantBody: `"ok"`,
			check: func(t *testing.T, res *http.Response) {
				if id := res.Header.Get("X-Request-Id"); !validID.MatchString(id) {
					t.Errorf("X-Request-Id = %q, want a fresh id", id)
				}
			},
		},
		{
			name: "good request id kept", method: "GET", path: "/healthz",
			header:     http.Header{"X-Request-Id": {"edge-7f3a.1_b"}},
			wantStatus: 200, wantBody: `"ok"`,
			wantHeader: map[string]string{"X-Request-Id": "edge-7f3a.1_b"},
		},
		{
			name: "security headers", method: "GET", path: "/items/7", wantStatus: 200, wantBody: `"7"`,
			wantHeader: map[string]string{
				"Content-Security-Policy": httpserver.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
			},
		},
		{
			name: "security headers on an error", method: "GET", path: "/nope", wantStatus: 404, wantBody: `"not found"`,
			wantHeader: map[string]string{"Content-Security-Policy": httpserver.ContentSecurityPolicy, "X-Frame-Options": "DENY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			res, got := srv.do(t, tt.method, tt.path, body, tt.header)
			if res.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, res.StatusCode, got, tt.wantStatus)
			}
			if tt.wantBody == "-" && got != "" || tt.wantBody != "-" && !strings.Contains(got, tt.wantBody) {
				t.Errorf("%s %s body = %q, want %q", tt.method, tt.path, got, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s %s header %s = %q, want %q", tt.method, tt.path, k, got, want)
				}
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
	// No log line may carry a caller's bad id, whole or in part.
	for _, line := range srv.logs.lines("http request") {
		if id, _ := line["request_id"].(string); !validID.MatchString(id) {
			t.Errorf("access log request_id = %.80q, want 1 to 64 of [A-Za-z0-9._-]", id)
		}
	}
	if logs := srv.logs.String(); strings.Contains(logs, longID[:100]) || strings.Contains(logs, "<script>") {
		t.Errorf("logs carry a refused request id")
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    map[string]string
		wantErr string
	}{
		{query: "", want: map[string]string{}},
		{query: "n=3&keepalive=1", want: map[string]string{"n": "3", "keepalive": "1"}},
		{query: "n=", want: map[string]string{"n": ""}},
		{query: "n=3&n=4", wantErr: `query parameter "n" given 2 times: want it once`},
		{query: "n=3;n=4", wantErr: "malformed query string"},
		{query: "x=1", wantErr: `unknown query parameter "x": want n, keepalive`},
		{query: strings.Repeat("x", 100) + "=1", wantErr: `unknown query parameter "` + strings.Repeat("x", 32) + `...": want n, keepalive`},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", "/?"+tt.query, nil)
		got, err := httpserver.Query(r, "n", "keepalive")
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Query(%q) = %v, %v; want error %q", tt.query, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("Query(%q) = %v, %v; want %v", tt.query, got, err, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("Query(%q)[%q] = %q, want %q", tt.query, k, got[k], v)
			}
		}
	}
}
