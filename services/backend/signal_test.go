package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// waitLimit only guards against a hang; it is far below the 30s drain of the tests.
const waitLimit = 10 * time.Second

// TestSignals builds the backend binary and runs it as the kubelet does: one SIGTERM starts
// the drain (/readyz answers 503 while it still serves, for the whole 30s DRAIN_DELAY), and
// a second one ends the process at once instead of waiting the drain out.
func TestSignals(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "backend")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build = %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT=0", "ADMIN_PORT=0", "LISTEN_HOST=127.0.0.1", "DRAIN_DELAY=30s",
		"MEMORY_LIMIT=67108864", "POD_NAME=backend-signals"}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe = %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("Start = %v", err)
	}
	exited := make(chan error, 1)
	logs := make(chan map[string]any, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				select {
				case logs <- line:
				default:
				}
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var url string
	var memLimit any
	for url == "" {
		select {
		case line := <-logs:
			switch line["msg"] {
			case "server listening":
				url = "http://" + line["addr"].(string)
			case "memory limit set":
				memLimit = line["gomemlimit_bytes"]
			}
		case err := <-exited:
			t.Fatalf("backend exited before listening: %v", err)
		case <-time.After(waitLimit):
			t.Fatalf("backend did not listen within %v", waitLimit)
		}
	}
	// MEMORY_LIMIT without GOMEMLIMIT: Go's soft limit is 85% of the container's.
	if want := float64(67108864 / 100 * 85); memLimit != want {
		t.Errorf("log \"memory limit set\" gomemlimit_bytes = %v, want %v", memLimit, want)
	}
	if got := status(t, url+"/readyz"); got != http.StatusOK {
		t.Fatalf("GET /readyz before SIGTERM = %d, want 200", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("first SIGTERM: %v", err)
	}
	deadline := time.Now().Add(waitLimit)
	for status(t, url+"/readyz") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz after SIGTERM never answered 503")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := status(t, url+"/healthz"); got != http.StatusOK {
		t.Errorf("GET /healthz during the drain = %d, want 200: the server keeps serving", got)
	}
	select {
	case err := <-exited:
		t.Fatalf("backend exited during the drain after one SIGTERM: %v", err)
	default:
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("second SIGTERM: %v", err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Errorf("backend exit after the second SIGTERM = %v, want killed by SIGTERM", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("backend still running %v after the second SIGTERM, want it ended at once (the drain is 30s)", waitLimit)
	}
}

// status GETs url and returns the status code, or 0 when the server does not answer.
func status(t *testing.T, url string) int {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	res, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}
