package httpserver_test

import (
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// TestNoGoroutineLeaks runs the hostile clients of the other tests against servers that are
// then shut down, and checks that the process has no more goroutines than before. It is not
// parallel: it compares the process's goroutine count, which tests running at the same time
// would change; parallel tests only start once it is done.
func TestNoGoroutineLeaks(t *testing.T) {
	base := runtime.NumGoroutine()
	scenarios := []struct {
		name    string
		environ []string
		run     func(t *testing.T, rs *running)
	}{
		{"slowloris cut off by ReadHeaderTimeout", []string{"READ_HEADER_TIMEOUT=100ms"}, func(t *testing.T, rs *running) {
			if _, closed := slowloris(t, rs.url); !closed {
				t.Errorf("server kept a connection with unfinished headers open")
			}
		}},
		{"oversized headers get 431", []string{"MAX_HEADER_BYTES=1024"}, func(t *testing.T, rs *running) {
			res, _ := rs.do(t, "GET", "/healthz", nil, http.Header{"X-Big": {strings.Repeat("x", 16<<10)}})
			if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("GET /healthz with 16 KiB of headers = %d, want 431", res.StatusCode)
			}
		}},
		{"oversized body gets 413", []string{"MAX_BODY_BYTES=1024"}, func(t *testing.T, rs *running) {
			res, _ := rs.do(t, "POST", "/upload", strings.NewReader(strings.Repeat("a", 64<<10)), nil)
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("POST /upload with 64 KiB = %d, want 413", res.StatusCode)
			}
		}},
		{"panic", nil, func(t *testing.T, rs *running) {
			if res, _ := rs.do(t, "GET", "/panic", nil, nil); res.StatusCode != http.StatusInternalServerError {
				t.Errorf("GET /panic = %d, want 500", res.StatusCode)
			}
		}},
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				sc.run(t, start(t, testConfig(t, sc.environ...), httpserver.Deps{}, testRoutes))
			})
		}
	})
	servicetest.WaitGoroutines(t, base)
}
