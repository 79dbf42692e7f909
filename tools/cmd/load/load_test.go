package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

// runLoad runs the command with args and returns its output and error. Nothing here asserts
// on time: the runs are short, and only what they counted is checked.
func runLoad(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	var errOut servicetest.Buffer // event goroutines and the run write to it at once
	err = run(ctx, args, nil, stdin, &out, &errOut)
	return out.String(), errOut.String(), err
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return r
}

func TestParseScheduled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in          string
		withCommand bool
		want        scheduled
		wantErr     bool
	}{
		{"20s=kubectl delete pod backend-1", true, scheduled{20 * time.Second, "kubectl delete pod backend-1", "kubectl delete pod backend-1"}, false},
		{"1m30s=a=b", true, scheduled{90 * time.Second, "a=b", "a=b"}, false},
		{" 500ms = pod gone ", false, scheduled{500 * time.Millisecond, "pod gone", ""}, false},
		{"0s=start", false, scheduled{0, "start", ""}, false},
		{"20=kubectl", true, scheduled{}, true},
		{"-1s=x", true, scheduled{}, true},
		{"20s=", true, scheduled{}, true},
		{"20s", true, scheduled{}, true},
	}
	for _, tt := range tests {
		got, err := parseScheduled(tt.in, tt.withCommand)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("parseScheduled(%q, %t) = %+v, %v; want %+v, error %t", tt.in, tt.withCommand, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-rate", "-1"},
		{"-duration", "0s"},
		{"-duration", "5s", "-event", "5s=true"},
		{"-mark", "soon=x"},
		{"-target", "10.10.0.2:30080"},
		{"-path", "api"},
		{"-max-errors", "-1"},
		{"-pair-env", "NOEQUALS"},
		{"stray"},
	} {
		_, stderr, err := runLoad(t, nil, args...)
		if !errors.Is(err, cli.ErrUsage) || stderr == "" {
			t.Errorf("load %q = %v with stderr %q, want a usage error that says why", args, err, stderr)
		}
	}
}

// TestLocalPair drives the in-process pair briefly, with a mark and an event, and checks the
// report: it adds up, only the three local pods answered, and both moments are marked. Whether
// every request succeeds is a question for make load and the e2e, not for a unit test on a
// machine whose CPU the other tests are using too: -max-errors lets failures through here.
func TestLocalPair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonPath, plotPath := filepath.Join(dir, "load.json"), filepath.Join(dir, "load.html")
	stdout, stderr, err := runLoad(t, nil, "-rate", "60", "-duration", "1s", "-max-errors", "1000000", "-json", jsonPath, "-plot", plotPath,
		"-mark", "300ms=half way", "-event", "100ms=echo injected")
	if err != nil {
		t.Fatalf("load = %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	r := readReport(t, jsonPath)
	if r.Requests == 0 || r.Succeeded == 0 || !r.Passed || len(r.NonOK) != min(r.NonOKCount, maxListed) {
		t.Errorf("report %d/%d succeeded, %d non-2xx listed of %d (passed %t), want answers and every failure listed",
			r.Succeeded, r.Requests, len(r.NonOK), r.NonOKCount, r.Passed)
	}
	pods := 0
	for pod, n := range r.ByPod {
		if !strings.HasPrefix(pod, "backend-") {
			t.Errorf("by_pod has %q, want backend-1..3", pod)
		}
		pods += n
	}
	if pods != r.Succeeded {
		t.Errorf("by_pod = %v, want the %d answers spread over backend-1..3", r.ByPod, r.Succeeded)
	}
	if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
		t.Errorf("latency = %+v, want 0 < p50 <= p99 <= max", r.Latency)
	}
	var labels []string
	for _, m := range r.Marks {
		labels = append(labels, m.Label)
		if m.Command != "" && (m.Error != "" || strings.TrimSpace(m.Output) != "injected") {
			t.Errorf("event %+v, want it run with output %q", m, "injected")
		}
	}
	if strings.Join(labels, "|") != "echo injected|half way" {
		t.Errorf("marks = %q, want the event then the mark, in time order", labels)
	}
	plot, err := os.ReadFile(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"new uPlot(", `"label":"half way"`, "backend-1"} {
		if !strings.Contains(string(plot), want) {
			t.Errorf("plot has no %q", want)
		}
	}
	for _, want := range []string{"by pod      backend-", "result      PASS"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary has no %q:\n%s", want, stdout)
		}
	}
}

// TestMaxErrors drives a target that fails every other request: one failure is enough to exit
// non-zero by default, and every failure is reported.
func TestMaxErrors(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			http.Error(w, "backend unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"backend":{"pod":"backend-x"}}`)
	}))
	defer srv.Close()
	tests := []struct {
		maxErrors string
		wantErr   bool
	}{
		{"0", true},
		{"1000", false},
	}
	for _, tt := range tests {
		jsonPath := filepath.Join(t.TempDir(), "load.json")
		stdout, _, err := runLoad(t, nil, "-target", srv.URL, "-rate", "40", "-duration", "500ms", "-max-errors", tt.maxErrors, "-json", jsonPath)
		if (err != nil) != tt.wantErr || (tt.wantErr && !strings.Contains(err.Error(), "-max-errors "+tt.maxErrors)) {
			t.Errorf("load -max-errors %s = %v, want an error: %t", tt.maxErrors, err, tt.wantErr)
		}
		r := readReport(t, jsonPath)
		if r.NonOKCount == 0 || len(r.NonOK) != r.NonOKCount || r.Failed() != r.NonOKCount || r.StatusCodes["503"] != r.NonOKCount {
			t.Errorf("report lists %d of %d non-2xx (statuses %v), want every 503", len(r.NonOK), r.NonOKCount, r.StatusCodes)
		}
		if f := r.NonOK[0]; f.Status != http.StatusServiceUnavailable || !strings.Contains(f.Body, "backend unavailable") {
			t.Errorf("first non-2xx = %+v, want the 503 with its body", f)
		}
		if r.ByPod["backend-x"] != r.Succeeded {
			t.Errorf("by_pod = %v, want backend-x %d", r.ByPod, r.Succeeded)
		}
		if !strings.Contains(stdout, "status 503") {
			t.Errorf("summary does not list the 503s:\n%s", stdout)
		}
	}
}

// TestMarksFromOutside marks the lines written to stdin while the attack runs, as a script
// that injects its own events would; and an event command that fails fails the run.
func TestMarksFromOutside(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first request proves the attack runs: announce the "injection" then.
		once.Do(func() { go func() { fmt.Fprintln(pw, "pod deleted from outside"); pw.Close() }() })
		fmt.Fprint(w, `{"backend":{"pod":"backend-x"}}`)
	}))
	defer srv.Close()
	jsonPath := filepath.Join(t.TempDir(), "load.json")
	_, stderr, err := runLoad(t, pr, "-target", srv.URL, "-rate", "40", "-duration", "500ms", "-marks-stdin",
		"-event", "10ms=echo oops; exit 3", "-json", jsonPath)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(stderr, "oops") {
		t.Errorf("load with a failing event = %v (stderr %q), want an error naming its exit status", err, stderr)
	}
	r := readReport(t, jsonPath)
	var found bool
	for _, m := range r.Marks {
		found = found || m.Label == "pod deleted from outside"
	}
	if !found || len(r.Marks) != 2 {
		t.Errorf("marks = %+v, want the failed event and the line from stdin", r.Marks)
	}
}

// TestBenchCompareTLS runs the comparison with the HTTPS and mutual TLS pairs: every
// request of theirs succeeds (a certificate refused would fail them all) and each is set
// against the plain pair.
func TestBenchCompareTLS(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := runLoad(t, nil, "-bench-compare", "-tls", "-rate", "30", "-duration", "300ms", "-rounds", "1", "-warmup", "0s")
	if err != nil {
		t.Fatalf("load -bench-compare -tls = %v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"(4) frontend -> HTTPS backend vs (2): throughput", "(5) frontend -> mTLS backend vs (2): throughput"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output has no %q:\n%s", want, stdout)
		}
	}
}

func TestBenchCompare(t *testing.T) {
	t.Parallel()
	jsonPath := filepath.Join(t.TempDir(), "compare.json")
	stdout, stderr, err := runLoad(t, nil, "-bench-compare", "-rate", "30", "-duration", "300ms", "-rounds", "1", "-warmup", "0s", "-json", jsonPath)
	if err != nil {
		t.Fatalf("load -bench-compare = %v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"machine  ", "(1) backend", "(2) frontend -> backend", "(3) ReverseProxy -> backend", "frontend vs ReverseProxy: throughput"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output has no %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var c Comparison
	if err := json.Unmarshal(b, &c); err != nil || len(c.Rows) != 3 {
		t.Fatalf("comparison JSON = %d rows (%v), want 3", len(c.Rows), err)
	}
	for _, row := range c.Rows {
		if row.Throughput <= 0 {
			t.Errorf("row %+v, want answers", row)
		}
	}
}
