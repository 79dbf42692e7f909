package app

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// TestGolden pins the exact bytes (and Content-Type) of GET / in JSON and text, success and
// failure, and of /api/spread's answers, to testdata/golden: what scripts and users parse must
// not change by accident, whatever changes under it (the encoder, the server). The files were
// made by the code before the per-request cost work (go test -run TestGolden -update).
func TestGolden(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 9, 8, 7, 123456789, time.UTC)
	call := callView{
		Backend:   identity{Service: "backend", Pod: "backend-7d9f-abcde", PodIP: "10.244.0.7", Namespace: "default", Node: "node-1", Version: "v1.2.3", Time: at},
		Discovery: found{Source: "dns", Name: "backend-service", Addr: "10.244.0.7:8080", Scheme: "http"},
		Attempts:  2,
		LatencyMS: 1.234,
		TraceID:   "4bf92f3577b34da6a3ce929d0e0e4736",
		Client:    &clientView{IP: "203.0.113.7", IPFrom: ipFromPeer, Peer: "203.0.113.7:51234"},
	}
	forwarded := call
	forwarded.Client = &clientView{IP: "198.51.100.2", IPFrom: ipFromForwardedFor, Peer: "10.0.0.5:40000",
		ForwardedFor: []string{"203.0.113.7", "198.51.100.2"}, ForwardedProto: "https", ForwardedHost: "pair.example"}
	fail := failureView{Error: "no backend pod answered", Status: http.StatusServiceUnavailable,
		Tried: tried{Source: "dns", Addrs: []string{"10.244.0.7:8080", "10.244.0.8:8080"}, Attempts: 3}, LatencyMS: 700.5, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	spreadOK := spreadView{Requested: 3, Succeeded: 3, ByPod: map[string]int{"backend-1": 2, "backend-2": 1},
		BySource: map[string]int{"dns": 3}, Errors: map[string]int{}, DurationMS: 33.3, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	spreadFailed := spreadView{Requested: 2, KeepAlive: true, Failed: 2, ByPod: map[string]int{}, BySource: map[string]int{},
		Errors: map[string]int{"no backend pod answered": 2}, DurationMS: 12.5, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}

	tests := []struct {
		name   string
		serve  func(w http.ResponseWriter, r *http.Request)
		accept string
	}{
		{"call.json", func(w http.ResponseWriter, r *http.Request) { writeCall(w, r, call) }, "application/json"},
		{"call.txt", func(w http.ResponseWriter, r *http.Request) { writeCall(w, r, call) }, ""},
		{"call-forwarded.json", func(w http.ResponseWriter, r *http.Request) { writeCall(w, r, forwarded) }, "application/json"},
		{"call-forwarded.txt", func(w http.ResponseWriter, r *http.Request) { writeCall(w, r, forwarded) }, "*/*"},
		{"failure.json", func(w http.ResponseWriter, r *http.Request) { writeFailure(w, r, fail) }, "application/json"},
		{"failure.txt", func(w http.ResponseWriter, r *http.Request) { writeFailure(w, r, fail) }, ""},
		// /api/spread answers with httpserver.WriteJSON of these two shapes (handleSpread).
		{"spread.json", func(w http.ResponseWriter, _ *http.Request) { httpserver.WriteJSON(w, http.StatusOK, spreadOK) }, ""},
		{"spread-failed.json", func(w http.ResponseWriter, _ *http.Request) {
			httpserver.WriteJSON(w, fail.Status, struct {
				failureView
				Spread spreadView `json:"spread"`
			}{fail, spreadFailed})
		}, ""},
		{"spread-bad-n.json", func(w http.ResponseWriter, _ *http.Request) {
			_, err := parseSpreadN("x", true, 100)
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			w := httptest.NewRecorder()
			tt.serve(w, r)
			got := []byte(w.Header().Get("Content-Type") + "\n" + w.Body.String())
			path := filepath.Join("testdata", "golden", tt.name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestGolden -update writes it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s: Content-Type and body =\n%s\nwant (%s)\n%s", tt.name, got, path, want)
			}
		})
	}
}
