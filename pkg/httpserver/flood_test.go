package httpserver_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// connCounter is a fake httpserver.ConnObserver that keeps the open count, its peak and the
// sheds by reason.
type connCounter struct {
	mu    sync.Mutex
	limit int
	open  int
	peak  int
	shed  map[string]int
}

func (c *connCounter) ConnLimit(n int) { c.mu.Lock(); c.limit = n; c.mu.Unlock() }
func (c *connCounter) ConnOpened() {
	c.mu.Lock()
	c.open++
	c.peak = max(c.peak, c.open)
	c.mu.Unlock()
}
func (c *connCounter) ConnClosed() { c.mu.Lock(); c.open--; c.mu.Unlock() }
func (c *connCounter) ConnShed(reason string) {
	c.mu.Lock()
	if c.shed == nil {
		c.shed = map[string]int{}
	}
	c.shed[reason]++
	c.mu.Unlock()
}

func (c *connCounter) get() (open, peak int, shed map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.shed {
		m[k] = v
	}
	return c.open, c.peak, m
}

// raiseFileLimit lifts the soft limit on open files to the hard one and returns it: the
// flood's client ends are file descriptors of this process too.
func raiseFileLimit(t *testing.T) uint64 {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("Getrlimit = %v", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Logf("Setrlimit(%d) = %v", lim.Max, err)
		}
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return lim.Cur
}

// memInUse is the heap and the goroutine stacks in use, after a GC: what a connection costs.
func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// TestConnectionFlood opens 10,000 idle keep-alive connections and 2,000 slowloris ones
// against a server capped at 100, and checks that the server never holds more than 100, that
// memory stays bounded, and that a well-behaved client's GET / keeps answering 200
// throughout. Not parallel: it measures the process's memory. A few goroutines drive the
// whole flood (the race detector allows 8128 at a time).
func TestConnectionFlood(t *testing.T) {
	const limit, idleConns, slowConns, workers = 100, 10_000, 2_000, 32
	if fds := raiseFileLimit(t); fds < idleConns+slowConns+1000 {
		t.Skipf("open files limit %d is below the %d the flood needs", fds, idleConns+slowConns+1000)
	}
	obs := &connCounter{}
	// READ_HEADER_TIMEOUT is the default's 5s: shedding, not the timeout, must keep slow
	// clients from taking the slots.
	srv := start(t, testConfig(t, fmt.Sprintf("MAX_CONNS=%d", limit)), httpserver.Deps{ConnObserver: obs},
		func(r chi.Router) {
			r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello\n") })
		})
	addr := strings.TrimPrefix(srv.url, "http://")
	before := memInUse()

	// The well-behaved client: GET / over a keep-alive pool, the whole time.
	var legitOK, legitFailed atomic.Int64
	var legitErr atomic.Value
	stopLegit := make(chan struct{})
	legitDone := make(chan struct{})
	go func() {
		defer close(legitDone)
		client := &http.Client{Timeout: waitLimit, Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		for {
			select {
			case <-stopLegit:
				return
			case <-time.After(10 * time.Millisecond):
			}
			res, err := client.Get(srv.url + "/")
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", res.StatusCode)
				}
			}
			if err != nil {
				legitFailed.Add(1)
				legitErr.Store(err.Error())
				continue
			}
			legitOK.Add(1)
		}
	}()

	// The flood: idle keep-alive connections (one GET, then nothing) and slowloris ones
	// (the request line and a header, then a header now and then), opened by a few workers
	// and held in slices.
	var mu sync.Mutex
	var held, slow []net.Conn
	var answered, dialErrs atomic.Int64
	jobs := make(chan bool, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for isSlow := range jobs {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				if isSlow {
					_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: flood\r\n")
					mu.Lock()
					slow = append(slow, conn)
					mu.Unlock()
					continue
				}
				_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: flood\r\n\r\n")
				_ = conn.SetReadDeadline(time.Now().Add(waitLimit))
				if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					answered.Add(1)
				}
				mu.Lock()
				held = append(held, conn)
				mu.Unlock()
			}
		})
	}
	stopTrickle := make(chan struct{})
	trickleDone := make(chan struct{})
	go func() {
		defer close(trickleDone)
		for {
			select {
			case <-stopTrickle:
				return
			case <-time.After(200 * time.Millisecond):
			}
			mu.Lock()
			conns := append([]net.Conn(nil), slow...)
			mu.Unlock()
			for _, c := range conns {
				_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				_, _ = io.WriteString(c, "X-Slow: 1\r\n")
			}
		}
	}()
	for i := range idleConns + slowConns {
		jobs <- i%6 == 5 // one slowloris in six: 2,000 of 12,000
	}
	close(jobs)
	wg.Wait()
	during := memInUse()
	open, peak, _ := obs.get()
	t.Logf("flood opened: %d idle (%d answered) and %d slowloris connections, %d dial errors; server holds %d (peak %d)",
		len(held), answered.Load(), len(slow), dialErrs.Load(), open, peak)
	time.Sleep(time.Second) // hold the flood while the legit client keeps asking
	close(stopTrickle)
	<-trickleDone
	close(stopLegit)
	<-legitDone

	// Count the flood's connections the server closed: a read sees EOF or a reset at once.
	closed := 0
	for _, c := range append(held, slow...) {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		if err != nil && !errors.Is(err, syscall.ETIMEDOUT) && !isTimeout(err) {
			closed++
		}
		c.Close()
	}
	open, peak, shed := obs.get()
	t.Logf("server closed %d of the %d flood connections; shed %v; memory in use %d KiB before, %d KiB during the flood",
		closed, len(held)+len(slow), shed, before>>10, during>>10)
	t.Logf("legit GET /: %d answered 200, %d failed", legitOK.Load(), legitFailed.Load())

	if peak != limit || open > limit {
		t.Errorf("open connections peaked at %d (now %d), want the cap %d reached and never passed", peak, open, limit)
	}
	if dialErrs.Load() != 0 {
		t.Errorf("%d flood dials failed, want every connection accepted", dialErrs.Load())
	}
	if legitFailed.Load() != 0 || legitOK.Load() == 0 {
		t.Errorf("legit GET / answered 200 %d times and failed %d (last: %v), want no failure", legitOK.Load(), legitFailed.Load(), legitErr.Load())
	}
	// 12,000 connections held by the server would be ~240 MB of buffers and stacks; the
	// cap keeps the server's share near 100 * 20 KB, the rest is this test's client ends.
	if grew := int64(during) - int64(before); grew > 32<<20 {
		t.Errorf("memory in use grew by %d MiB during the flood, want under 32 MiB", grew>>20)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
