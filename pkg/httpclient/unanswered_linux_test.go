package httpclient_test

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// unansweredAddr returns a loopback address whose connects are never answered, which is
// what a client sees of a pod IP that is gone while DNS still lists it: a socket listens
// with a backlog of 0 and never accepts, and its accept queue is filled first, so Linux
// drops every further SYN instead of answering it.
func unansweredAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			// Confirm with a longer wait: on a busy machine a connect that did complete
			// can be seen only after its deadline.
			c, err = net.DialTimeout("tcp", addr, 400*time.Millisecond)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return addr // the queue is full: connects are not answered
			}
		}
		if err != nil {
			t.Fatalf("filling the accept queue of %s: %v", addr, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("connects to %s are still answered after 8 connections", addr)
	return ""
}

// A connect nobody answers ends after ConnectTimeout, not after the attempt's timeout, and
// the address is skipped by the calls that follow until the next resolution: a pod that is
// gone costs one short connect, once.
func TestDoUnansweredConnectIsSkipped(t *testing.T) {
	t.Parallel()
	good, requests := statusServer(t, 200)
	addrs := []string{unansweredAddr(t), good}
	obs := &observed{}
	// The default ConnectTimeout (200ms), so that a busy machine never makes the good
	// backend look unreachable. Were the connect bounded only by the attempt, the first
	// attempt would end as "timeout" instead of "connection_error".
	cfg := fast
	cfg.AttemptTimeout = 3 * time.Second
	c := newClient(t, cfg, httpclient.Deps{Resolver: fixed(addrs...), Observer: obs})

	for i := range 6 {
		res, err := c.Get(t.Context(), "/")
		if err != nil {
			t.Fatalf("call %d: Get error = %v", i+1, err)
		}
		if res.Addr != good {
			t.Errorf("call %d answered by %s, want %s", i+1, res.Addr, good)
		}
	}
	want := []string{"dns connection_error", "dns ok", "dns ok", "dns ok", "dns ok", "dns ok", "dns ok"}
	if got := obs.attemptList(); !slices.Equal(got, want) {
		t.Errorf("attempts = %q, want %q: one failed connect, then the address skipped", got, want)
	}
	if got := requests.Load(); got != 6 {
		t.Errorf("the good backend got %d requests, want 6", got)
	}
}

// When no address answers a connect, the call fails as unavailable (a 503 for the
// frontend) after MaxAttempts short connects, long before its deadline; the error still
// says it was a timeout of the connect.
func TestDoNoConnectAnsweredIsUnavailable(t *testing.T) {
	t.Parallel()
	addrs := []string{unansweredAddr(t), unansweredAddr(t)}
	obs := &observed{}
	cfg := fast
	cfg.AttemptTimeout = 3 * time.Second
	cfg.Timeout = 20 * time.Second
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		c := newClient(t, cfg, httpclient.Deps{Resolver: fixed(addrs...), Observer: obs})
		_, err := c.Do(t.Context(), method, "/", []byte("x"), nil)
		var e *httpclient.Error
		if !errors.Is(err, httpclient.ErrUnavailable) || errors.Is(err, httpclient.ErrTimeout) || !errors.As(err, &e) {
			t.Fatalf("Do(%s) error = %v, want an *Error matching ErrUnavailable and not ErrTimeout", method, err)
		}
		if e.Attempts != 3 || !slices.Equal(e.Addrs, addrs) {
			t.Errorf("Do(%s) error Attempts, Addrs = %d, %v, want 3, %v", method, e.Attempts, e.Addrs, addrs)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Do(%s) error = %v, want the connect's timeout as its cause", method, err)
		}
	}
	for _, got := range obs.attemptList() {
		if got != "dns connection_error" {
			t.Errorf("attempts = %q, want only dns connection_error", obs.attemptList())
			break
		}
	}
}
