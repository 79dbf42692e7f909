// Package servicetest starts a service's Run function in-process for a test and learns the
// address it listens on through service.OnListen. Services then run for real on loopback with
// PORT=0, many side by side, without guessing free ports.
package servicetest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/service"
)

// startupLimit only guards against a hang: a service that never listens fails the test.
const startupLimit = 30 * time.Second

// RunFunc is a service's Run with everything but the context, stdout and options already
// bound; it must pass opts on to service.Run.
type RunFunc func(ctx context.Context, stdout io.Writer, opts ...service.Option) error

// Service is a running service under test.
type Service struct {
	// Addr is the host:port the service listens on.
	Addr string
	// URL is "http://" + Addr.
	URL string
	// AdminURL is "http://" + the admin port's address, where /metrics is served; empty for
	// a service that opened none (start it with ADMIN_PORT=0).
	AdminURL string

	logs   *Buffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Start runs the service until the test ends and returns once it listens. The test fails if
// the service stops with an error, during the test or at its end.
func Start(t testing.TB, run RunFunc) *Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{logs: &Buffer{}, cancel: cancel, done: make(chan error, 1)}
	listening := make(chan string, 1)
	onListen := service.OnListen(func(addr string) { listening <- addr })
	// The admin port listens before the public one, so its address is known by then.
	admin := make(chan string, 1)
	onAdminListen := service.OnAdminListen(func(addr string) { admin <- addr })
	go func() { s.done <- run(ctx, s.logs, onAdminListen, onListen) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("service stopped with error: %v\nlogs:\n%s", err, s.Logs())
		}
	})
	select {
	case addr := <-listening:
		s.Addr, s.URL = addr, "http://"+addr
		select {
		case a := <-admin:
			s.AdminURL = "http://" + a
		default:
		}
		return s
	case err := <-s.done:
		s.once.Do(func() { s.err = err })
		t.Fatalf("service stopped before listening: %v\nlogs:\n%s", err, s.Logs())
	case <-time.After(startupLimit):
		t.Fatalf("service did not listen within %v\nlogs:\n%s", startupLimit, s.Logs())
	}
	return nil
}

// Stop cancels the service's context and waits for Run to return, like SIGTERM would.
// It returns Run's error; calling it again returns the same error.
func (s *Service) Stop() error {
	s.once.Do(func() {
		s.cancel()
		s.err = <-s.done
	})
	return s.err
}

// Logs returns everything the service has written to stdout so far.
func (s *Service) Logs() string { return s.logs.String() }

// LogLines returns the service's JSON log lines decoded, skipping lines that are not JSON.
func (s *Service) LogLines() []map[string]any {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.Logs()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}
