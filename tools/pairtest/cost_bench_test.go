package pairtest_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
	backend "github.com/svc2svc/svc2svc/services/backend/app"
	"github.com/svc2svc/svc2svc/services/frontend/app"
)

// BenchmarkPathAllocs counts what each server allocates per request: a bare net/http hello,
// a bare httputil.ReverseProxy in front of it, the backend, and the frontend in front of the
// backend, each driven over one keep-alive loopback connection by rawClient, which allocates
// nothing per request. allocs/op and B/op are therefore the servers' own (the whole chain's:
// the proxy row includes the hello's, the frontend row the backend's); path-allocs/op and
// path-B/op subtract the server behind, which leaves what the proxy hop or the frontend alone
// allocates. The services run with their shipped defaults (access logs to a discarding
// writer, metrics, trace ids without an exporter). Unlike throughput, allocation counts are
// the same from run to run, so they are what a change is judged by on a busy machine.
func BenchmarkPathAllocs(b *testing.B) {
	hello := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello\n"))
	}))
	b.Cleanup(hello.Close)
	target, _ := url.Parse(hello.URL)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 256}
	b.Cleanup(tr.CloseIdleConnections)
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
	})
	b.Cleanup(proxy.Close)

	be := servicetest.Start(b, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		return backend.Run(ctx, nil, []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAME=backend-bench"}, io.Discard, opts...)
	})
	_, port, _ := net.SplitHostPort(be.Addr)
	fe := servicetest.Start(b, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		return app.Run(ctx, nil, []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAME=frontend-bench",
			"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + port,
		}, io.Discard, opts...)
	})
	targets := []struct {
		name, addr, behind string
	}{
		{"hello", hello.Listener.Addr().String(), ""},
		{"proxy", proxy.Listener.Addr().String(), "hello"},
		{"backend", be.Addr, ""},
		{"frontend", fe.Addr, "backend"},
	}
	type cost struct{ allocs, bytes float64 }
	costs := map[string]cost{}
	for _, t := range targets {
		b.Run(t.name, func(b *testing.B) {
			c := dialRaw(b, t.addr)
			for range 100 { // warm the pools (connections, sync.Pools) outside the measurement
				c.get(b)
			}
			b.ReportAllocs()
			var start, end runtime.MemStats
			runtime.ReadMemStats(&start)
			for b.Loop() {
				c.get(b)
			}
			runtime.ReadMemStats(&end)
			n := float64(b.N)
			allocs, bytes := float64(end.Mallocs-start.Mallocs)/n, float64(end.TotalAlloc-start.TotalAlloc)/n
			costs[t.name] = cost{allocs, bytes}
			if t.behind != "" {
				if behind, ok := costs[t.behind]; ok {
					b.ReportMetric(allocs-behind.allocs, "path-allocs/op")
					b.ReportMetric(bytes-behind.bytes, "path-B/op")
				}
			}
		})
	}
}

// rawClient sends GET / with Accept: application/json over one keep-alive connection and
// reads the answer into buffers it reuses: it allocates nothing per request, so what a
// benchmark counts is the server's.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
	req  []byte
	body []byte
}

func dialRaw(b *testing.B, addr string) *rawClient {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return &rawClient{
		conn: conn,
		r:    bufio.NewReaderSize(conn, 16<<10),
		req:  []byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\nAccept: application/json\r\nUser-Agent: bench\r\n\r\n"),
		body: make([]byte, 64<<10),
	}
}

var (
	status200     = []byte("HTTP/1.1 200 ")
	contentLength = []byte("content-length:")
)

// get sends one request and reads the whole answer, which must be a 200 with a
// Content-Length (every answer benchmarked here is small enough for net/http to set one).
func (c *rawClient) get(b *testing.B) {
	if _, err := c.conn.Write(c.req); err != nil {
		b.Fatal(err)
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil || !bytes.HasPrefix(line, status200) {
		b.Fatalf("status line %q, %v: want 200", line, err)
	}
	n := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			n = atoi(bytes.TrimSpace(line[len(contentLength):]))
		}
	}
	if n < 0 || n > len(c.body) {
		b.Fatalf("Content-Length %d: want 0 to %d", n, len(c.body))
	}
	if _, err := io.ReadFull(c.r, c.body[:n]); err != nil {
		b.Fatal(err)
	}
}

// atoi parses a small decimal without the string conversion strconv.Atoi would need.
func atoi(s []byte) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
