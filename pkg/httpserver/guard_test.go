package httpserver_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// TestProbes sends, to a real server on loopback, each request a stranger might use to knock
// it over or to abuse it from a browser, one row per probe, and checks the answer.
func TestProbes(t *testing.T) {
	t.Parallel()
	srv := start(t, testConfig(t, "MAX_BODY_BYTES=1024"), httpserver.Deps{}, testRoutes)
	longID := strings.Repeat("a", 60<<10)
	servicetest.CheckProbes(t, srv.client, srv.url, []servicetest.Probe{
		{
			Name: "body over the limit with Content-Length", Method: "POST", Path: "/upload",
			Body:       func() io.Reader { return bytes.NewReader(make([]byte, 2<<20)) },
			WantStatus: 413, WantBody: `"request body too large"`,
		},
		{
			Name: "body over the limit chunked", Method: "POST", Path: "/upload",
			Body:       func() io.Reader { return servicetest.Chunked(bytes.NewReader(make([]byte, 2<<20))) },
			WantStatus: 413, WantBody: `"request body too large"`,
		},
		{
			Name: "chunked body to a route that ignores bodies", Method: "GET", Path: "/healthz",
			Body:       func() io.Reader { return servicetest.Chunked(bytes.NewReader(make([]byte, 4096))) },
			WantStatus: 413, WantBody: `"request body too large"`,
		},
		{
			Name: "chunked body within the limit", Method: "POST", Path: "/upload",
			Body:       func() io.Reader { return servicetest.Chunked(strings.NewReader(strings.Repeat("a", 1024))) },
			WantStatus: 200, WantBody: `{"bytes":1024}`,
		},
		{
			Name: "body over the limit to an unknown path", Method: "PUT", Path: "/nope",
			Body:       func() io.Reader { return bytes.NewReader(make([]byte, 2048)) },
			WantStatus: 413, WantBody: `"request body too large"`,
		},
		{Name: "HEAD /healthz", Method: "HEAD", Path: "/healthz", WantStatus: 200, WantBody: "-"},
		{Name: "HEAD /readyz", Method: "HEAD", Path: "/readyz", WantStatus: 200, WantBody: "-"},
		{Name: "HEAD of a GET route", Method: "HEAD", Path: "/items/7", WantStatus: 200, WantBody: "-",
			WantHeader: map[string]string{"Content-Type": "application/json"}},
		{Name: "HEAD of a POST-only route", Method: "HEAD", Path: "/upload", WantStatus: 405, WantBody: "-",
			WantHeader: map[string]string{"Allow": "POST"}},
		{Name: "query with ;", Method: "GET", Path: "/items/7?n=3;n=4", WantStatus: 400, WantBody: `"malformed query string"`},
		{Name: "query with a broken escape", Method: "GET", Path: "/items/7?n=%zz", WantStatus: 400, WantBody: `"malformed query string"`},
		{
			Name: "request id of 60 KB", Method: "GET", Path: "/healthz",
			Header:     http.Header{"X-Request-Id": {longID}},
			WantStatus: 200, WantBody: `"ok"`,
			Check: func(t *testing.T, res *http.Response, _ string) {
				if id := res.Header.Get("X-Request-Id"); !servicetest.RequestIDPattern.MatchString(id) || id == longID[:len(id)] {
					t.Errorf("X-Request-Id = %.80q, want a fresh id instead of the caller's 60 KB", id)
				}
			},
		},
		{
			Name: "request id with markup", Method: "GET", Path: "/healthz",
			Header:     http.Header{"X-Request-Id": {"<script>alert(1)</script>"}},
			WantStatus: 200, WantBody: `"ok"`,
			Check: func(t *testing.T, res *http.Response, _ string) {
				if id := res.Header.Get("X-Request-Id"); !servicetest.RequestIDPattern.MatchString(id) {
					t.Errorf("X-Request-Id = %q, want a fresh id", id)
				}
			},
		},
		{
			Name: "good request id kept", Method: "GET", Path: "/healthz",
			Header:     http.Header{"X-Request-Id": {"edge-7f3a.1_b"}},
			WantStatus: 200, WantBody: `"ok"`,
			WantHeader: map[string]string{"X-Request-Id": "edge-7f3a.1_b"},
		},
		{
			Name: "security headers", Method: "GET", Path: "/items/7", WantStatus: 200, WantBody: `"7"`,
			WantHeader: map[string]string{
				"Content-Security-Policy": httpserver.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
			},
		},
		{
			Name: "security headers on an error", Method: "GET", Path: "/nope", WantStatus: 404, WantBody: `"not found"`,
			WantHeader: map[string]string{"Content-Security-Policy": httpserver.ContentSecurityPolicy, "X-Frame-Options": "DENY"},
		},
	})
	// No log line may carry a caller's bad id, whole or in part.
	for _, line := range srv.logs.lines("http request") {
		if id, _ := line["request_id"].(string); !servicetest.RequestIDPattern.MatchString(id) {
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
