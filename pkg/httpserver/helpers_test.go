package httpserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/logging"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// waitLimit only guards against a hang; nothing here asserts on time.
const waitLimit = 10 * time.Second

// logBuffer collects a server's JSON log lines; servers write from many goroutines.
type logBuffer struct{ servicetest.Buffer }

// lines returns the decoded log lines whose "msg" is msg.
func (b *logBuffer) lines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls until cond holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testConfig parses the server's config from an environment, as a service does, on loopback
// with a free port and a short drain.
func testConfig(t *testing.T, environ ...string) httpserver.Config {
	t.Helper()
	base := []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=10ms", "SHUTDOWN_TIMEOUT=5s"}
	cfg, err := config.Parse[httpserver.Config](append(base, environ...))
	if err != nil {
		t.Fatalf("config.Parse = %v, want nil", err)
	}
	return cfg
}

// running is a server started through Run for one test.
type running struct {
	url    string
	admin  chan string // the admin port's URL, when the server has one
	logs   *logBuffer
	client *http.Client
	cancel context.CancelFunc
	done   chan error
}

// start runs a server on loopback until the test ends and returns once it listens.
func start(t *testing.T, cfg httpserver.Config, deps httpserver.Deps, routes func(chi.Router)) *running {
	t.Helper()
	logs := &logBuffer{}
	if deps.Logger == nil {
		deps.Logger = logging.New(logs, slog.LevelDebug)
	}
	listening := make(chan string, 1)
	deps.OnListen = func(addr string) { listening <- addr }
	admin := make(chan string, 1)
	deps.OnAdminListen = func(addr string) { admin <- "http://" + addr }
	ctx, cancel := context.WithCancel(context.Background())
	rs := &running{logs: logs, cancel: cancel, done: make(chan error, 1), admin: admin,
		client: &http.Client{Timeout: waitLimit, Transport: &http.Transport{}}}
	go func() { rs.done <- httpserver.New(cfg, deps, routes).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rs.done:
		case <-time.After(waitLimit):
			t.Errorf("Run did not return after cancel")
		}
		rs.client.CloseIdleConnections()
	})
	select {
	case addr := <-listening:
		rs.url = "http://" + addr
	case err := <-rs.done:
		rs.done <- err // for the cleanup
		t.Fatalf("Run = %v before listening", err)
	case <-time.After(waitLimit):
		t.Fatalf("Run did not listen within %v", waitLimit)
	}
	return rs
}

// do sends a request with the server's client and returns the response with its body read.
func (rs *running) do(t *testing.T, method, path string, body io.Reader, header http.Header) (*http.Response, string) {
	t.Helper()
	return servicetest.Send(t, rs.client, method, rs.url+path, body, header)
}

// testRoutes are the routes most tests share.
// slowloris plays a slow-header client against the server at url: the request line and one
// header, then nothing. It reads until the server closes the connection or waitLimit passes,
// and returns what the server sent and whether it closed the connection.
func slowloris(t *testing.T, url string) (got []byte, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatalf("Dial = %v", err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatalf("Write = %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitLimit))
	got, err = io.ReadAll(conn)
	var ne net.Error
	return got, !errors.As(err, &ne) || !ne.Timeout()
}

func testRoutes(r chi.Router) {
	r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpserver.WriteJSON(w, http.StatusOK, map[string]string{"id": chi.URLParam(r, "id")})
	})
	r.Get("/panic", func(http.ResponseWriter, *http.Request) {
		panic("boom: secret detail")
	})
	r.Post("/upload", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			httpserver.WriteError(w, http.StatusRequestEntityTooLarge, "request body too large")
		case err != nil:
			httpserver.WriteError(w, http.StatusBadRequest, "bad request body")
		default:
			httpserver.WriteJSON(w, http.StatusOK, map[string]int{"bytes": len(b)})
		}
	})
}
