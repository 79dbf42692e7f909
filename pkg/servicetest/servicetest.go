// Package servicetest starts a service's Run function in-process for a test and learns the
// address it listens on from its "server listening" log line. Services then run for real on
// loopback with PORT=0, many side by side, without guessing free ports.
package servicetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// ListeningMessage is the log message pkg/httpserver writes once it accepts connections; its
// "addr" attribute is a dialable host:port.
const ListeningMessage = "server listening"

// startupLimit only guards against a hang: a service that never listens fails the test.
const startupLimit = 30 * time.Second

// RunFunc is a service's Run with everything but the context and stdout already bound.
type RunFunc func(ctx context.Context, stdout io.Writer) error

// Service is a running service under test.
type Service struct {
	// Addr is the host:port the service listens on.
	Addr string
	// URL is "http://" + Addr.
	URL string

	logs   *logBuffer
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
	s := &Service{logs: newLogBuffer(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, s.logs) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("service stopped with error: %v\nlogs:\n%s", err, s.Logs())
		}
	})
	select {
	case addr := <-s.logs.listening:
		s.Addr, s.URL = addr, "http://"+addr
		return s
	case err := <-s.done:
		s.once.Do(func() { s.err = err })
		t.Fatalf("service stopped before listening: %v\nlogs:\n%s", err, s.Logs())
	case <-time.After(startupLimit):
		t.Fatalf("service did not log %q within %v\nlogs:\n%s", ListeningMessage, startupLimit, s.Logs())
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

// logBuffer keeps a service's output and reports the first listening address it sees.
type logBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	partial   []byte
	found     bool
	listening chan string
}

func newLogBuffer() *logBuffer { return &logBuffer{listening: make(chan string, 1)} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.found {
		return len(p), nil
	}
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		line := b.partial[:i]
		b.partial = b.partial[i+1:]
		var entry struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &entry) == nil && entry.Msg == ListeningMessage && entry.Addr != "" {
			b.found, b.partial = true, nil
			b.listening <- entry.Addr
			break
		}
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
