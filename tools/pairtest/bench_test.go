package pairtest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
	backend "github.com/svc2svc/svc2svc/services/backend/app"
	"github.com/svc2svc/svc2svc/services/frontend/app"
)

// The benchmarks compare, side by side on loopback, (1) the backend alone, (2) the frontend in
// front of it and (3) a plain httputil.ReverseProxy in front of it, the reference for what one
// Go hop costs. Every server is real (the services through their Run functions) and in this
// process, as is the client, so on a small machine all of them share its CPUs. The services
// run with their production settings (LOG_LEVEL=info, ACCESS_LOG_RATE=100: the first 100
// access log lines of each second), their logs written and then dropped once they listen.
// tools/cmd/hopcost (make bench-compare) measures the same with every server a process of its
// own, against a bare hello and a bare proxy; BenchmarkPathAllocs counts each server's
// allocations alone.

// quietly passes a service's output through until it listens and drops the rest: a
// benchmark's millions of access log lines would otherwise pile up in servicetest's buffer.
type quietly struct {
	w    io.Writer
	done atomic.Bool
}

func (q *quietly) Write(p []byte) (int, error) {
	if q.done.Load() {
		return len(p), nil
	}
	return q.w.Write(p)
}

// quiet is the option that silences q once the service listens.
func (q *quietly) quiet() service.Option {
	return service.OnListen(func(string) { q.done.Store(true) })
}

// hops starts the three targets and returns their URLs, in the order (1), (2), (3).
func hops(b *testing.B) (names, urls []string) {
	b.Helper()
	be := servicetest.Start(b, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		q := &quietly{w: stdout}
		return backend.Run(ctx, nil, []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAME=backend-bench"}, q, append(opts, q.quiet())...)
	})
	_, port, _ := net.SplitHostPort(be.Addr)
	fe := servicetest.Start(b, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		q := &quietly{w: stdout}
		return app.Run(ctx, nil, []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAME=frontend-bench",
			"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + port,
		}, q, append(opts, q.quiet())...)
	})
	target, _ := url.Parse(be.URL)
	// Pooled like the frontend's client (64 idle connections per host, not net/http's 2), so
	// that the comparison is between the hops rather than between connection pools.
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 256}
	b.Cleanup(tr.CloseIdleConnections)
	rp := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
	})
	b.Cleanup(rp.Close)
	return []string{"backend", "frontend", "reverseproxy"}, []string{be.URL + "/", fe.URL + "/", rp.URL + "/"}
}

// benchClient is the load: keep-alive, enough idle connections for RunParallel.
func benchClient(b *testing.B) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// hit asks url for JSON, as the load harness does, and reads the whole answer.
func hit(c *http.Client, url string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s = %d, want 200", url, res.StatusCode)
	}
	return err
}

// BenchmarkHop sends one request at a time: ns/op is the latency of a call, cpu-ns/op the CPU
// time the whole process spent per call. Besides allocs/op, which counts every allocation in
// the process (the client's and the backend's too), frontend and reverseproxy report
// own-allocs/op and own-B/op: their allocations minus the backend-alone run's, that is what
// the hop itself allocates per request.
func BenchmarkHop(b *testing.B) {
	names, urls := hops(b)
	var baseAllocs, baseBytes float64
	for i, name := range names {
		b.Run(name, func(b *testing.B) {
			c := benchClient(b)
			if err := hit(c, urls[i]); err != nil { // connect outside the measurement
				b.Fatal(err)
			}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cpu := cpuTime()
			n := 0
			for b.Loop() {
				if err := hit(c, urls[i]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/op")
			runtime.ReadMemStats(&after)
			allocs := float64(after.Mallocs-before.Mallocs) / float64(n)
			bytes := float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
			if i == 0 {
				baseAllocs, baseBytes = allocs, bytes
				return
			}
			b.ReportMetric(allocs-baseAllocs, "own-allocs/op")
			b.ReportMetric(bytes-baseBytes, "own-B/op")
		})
	}
}

// BenchmarkHopParallel keeps GOMAXPROCS requests in flight: ns/op is the inverse of the
// throughput, cpu-ns/op the process's CPU time per request.
func BenchmarkHopParallel(b *testing.B) {
	names, urls := hops(b)
	for i, name := range names {
		b.Run(name, func(b *testing.B) {
			c := benchClient(b)
			b.ReportAllocs()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := hit(c, urls[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
