package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/services/backend/app"
)

// startBackend runs a real backend on loopback with the given environment.
func startBackend(t *testing.T, environ ...string) *servicetest.Service {
	t.Helper()
	environ = append([]string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s"}, environ...)
	return servicetest.Start(t, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		return app.Run(ctx, nil, environ, stdout, opts...)
	})
}

func getIdentity(t *testing.T, url string) app.Identity {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", url, res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var id app.Identity
	if err := json.NewDecoder(res.Body).Decode(&id); err != nil {
		t.Fatalf("decode identity: %v", err)
	}
	return id
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		want    app.Identity
	}{
		{
			name:    "downward API",
			environ: []string{"POD_NAME=backend-7d9f-abcde", "POD_IP=10.244.0.7", "POD_NAMESPACE=default", "NODE_NAME=node-1", "HOSTNAME=ignored"},
			want:    app.Identity{Service: "backend", Pod: "backend-7d9f-abcde", PodIP: "10.244.0.7", Namespace: "default", Node: "node-1", Version: "dev"},
		},
		{
			name:    "hostname fallback",
			environ: []string{"HOSTNAME=backend-from-hostname"},
			want:    app.Identity{Service: "backend", Pod: "backend-from-hostname", Version: "dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := startBackend(t, tt.environ...)
			// /backend is where k8s/ingress routes to the backend, path unchanged.
			for _, path := range []string{"/", "/backend"} {
				got := getIdentity(t, svc.URL+path)
				if got.Time.IsZero() {
					t.Errorf("GET %s: identity time is zero, want the time of the answer", path)
				}
				got.Time = tt.want.Time
				if got != tt.want {
					t.Errorf("GET %s = %+v, want %+v", path, got, tt.want)
				}
			}
		})
	}
}

// TestIdentityOnlyAtItsPaths: /backend is one exact path, not a prefix, as the Ingress routes
// it; anything under it is the JSON 404 of every unknown path.
func TestIdentityOnlyAtItsPaths(t *testing.T) {
	t.Parallel()
	svc := startBackend(t, "POD_NAME=backend-1")
	for _, path := range []string{"/backend/", "/backend/x", "/backendx"} {
		res, err := http.Get(svc.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var body map[string]any
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || err != nil || body["error"] == nil {
			t.Errorf("GET %s = %d %v (%v), want a JSON 404", path, res.StatusCode, body, err)
		}
	}
}

func TestIdentityRejectsOtherMethods(t *testing.T) {
	t.Parallel()
	svc := startBackend(t, "POD_NAME=backend-1")
	res, err := http.Post(svc.URL+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("POST /: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", res.StatusCode)
	}
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body["error"] == nil {
		t.Errorf("POST / body = %v (%v), want a JSON error", body, err)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	t.Parallel()
	servicetest.Refuses(t, app.Run, []servicetest.Refusal{
		{Name: "bad values", Environ: []string{"PORT=abc", "SHUTDOWN_TIMEOUT=-1s", "LOG_LEVEL=loud"},
			WantVars: []string{"LOG_LEVEL", "PORT", "SHUTDOWN_TIMEOUT"}},
		{Name: "port out of range", Environ: []string{"PORT=70000"}, WantVars: []string{"PORT"}},
		{Name: "server rules", Environ: []string{"LISTEN_HOST=localhost", "READ_TIMEOUT=0", "OTEL_TRACES_SAMPLER=sometimes"},
			WantVars: []string{"LISTEN_HOST", "OTEL_TRACES_SAMPLER", "READ_TIMEOUT"}},
		{Name: "faults neither on nor off", Environ: []string{"FAULTS=yes"}, WantVars: []string{"FAULTS"}, WantText: []string{`want on or off, got "yes"`}},
		{Name: "arguments", Args: []string{"serve"}, WantText: []string{"no arguments"}},
	})
}
