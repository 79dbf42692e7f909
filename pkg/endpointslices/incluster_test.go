package endpointslices_test

import (
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/endpointslices"
)

// serviceAccountDir writes what the kubelet mounts into a pod, trusting a's certificate, and
// returns the directory and the environment of a pod talking to a.
func serviceAccountDir(t *testing.T, a *fakeAPI) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw})
	for name, content := range map[string][]byte{
		"token":     []byte("token-1\n"),
		"ca.crt":    ca,
		"namespace": []byte(testNS),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	return dir, map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	}
}

// TestInCluster watches through what InCluster builds: the CA is checked for real, over the
// HTTP/2 transport, and a rotated token file is read again.
func TestInCluster(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	http8080 := []map[string]any{tcp("http", 8080)}
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1")}})
	dir, env := serviceAccountDir(t, a)

	api, ns, err := endpointslices.InCluster(lookup(env), dir)
	if err != nil {
		t.Fatalf("InCluster() error = %v", err)
	}
	if ns != testNS {
		t.Errorf("InCluster() namespace = %q, want %q", ns, testNS)
	}
	if want := "https://" + net.JoinHostPort(env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]); api.BaseURL != want {
		t.Errorf("InCluster() BaseURL = %q, want %q", api.BaseURL, want)
	}
	t.Cleanup(api.Client.CloseIdleConnections)

	w := startWithAPI(t, endpointslices.Config{Service: testSvc, Namespace: ns, PortName: "http"}, api)
	waitAddrs(t, w, "10.0.0.1:8080")
	if got := a.stats().proto; got != "HTTP/2.0" {
		t.Errorf("requests use %s, want HTTP/2.0 as with kube-apiserver", got)
	}

	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("token-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.setToken("token-2")
	a.kickWatches()
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.2")}})
	waitAddrs(t, w, "10.0.0.2:8080")
}

// startWithAPI runs a Watcher on api until the end of the test.
func startWithAPI(t *testing.T, c endpointslices.Config, api endpointslices.API) *endpointslices.Watcher {
	t.Helper()
	w := endpointslices.New(c, api, nil)
	runUntilCleanup(t, w)
	return w
}

func TestInClusterErrors(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	tests := []struct {
		name  string
		setup func(dir string, env map[string]string)
		want  string
		is    error
	}{
		{
			name:  "no KUBERNETES_SERVICE_HOST",
			setup: func(_ string, env map[string]string) { delete(env, "KUBERNETES_SERVICE_HOST") },
			want:  "KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set",
			is:    endpointslices.ErrNotInCluster,
		},
		{
			name:  "no KUBERNETES_SERVICE_PORT",
			setup: func(_ string, env map[string]string) { delete(env, "KUBERNETES_SERVICE_PORT") },
			want:  "KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set",
			is:    endpointslices.ErrNotInCluster,
		},
		{
			name:  "no token",
			setup: func(dir string, _ map[string]string) { remove(t, dir, "token") },
			want:  "no service account token (is automountServiceAccountToken false?)",
			is:    os.ErrNotExist,
		},
		{
			name:  "empty token",
			setup: func(dir string, _ map[string]string) { write(t, dir, "token", " \n") },
			want:  "is empty",
		},
		{
			name:  "no CA",
			setup: func(dir string, _ map[string]string) { remove(t, dir, "ca.crt") },
			want:  "no cluster ca certificate",
			is:    os.ErrNotExist,
		},
		{
			name:  "CA not PEM",
			setup: func(dir string, _ map[string]string) { write(t, dir, "ca.crt", "not a certificate") },
			want:  "no PEM certificate in",
		},
		{
			name:  "no namespace",
			setup: func(dir string, _ map[string]string) { remove(t, dir, "namespace") },
			want:  "no pod namespace",
			is:    os.ErrNotExist,
		},
		{
			name:  "empty namespace",
			setup: func(dir string, _ map[string]string) { write(t, dir, "namespace", "\n") },
			want:  "empty namespace in",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, env := serviceAccountDir(t, a)
			tt.setup(dir, env)
			_, _, err := endpointslices.InCluster(lookup(env), dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("InCluster() error = %v, want one containing %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("InCluster() error = %v, want one matching %v", err, tt.is)
			}
			if tt.is == nil && errors.Is(err, endpointslices.ErrNotInCluster) {
				t.Errorf("InCluster() error = %v matches ErrNotInCluster, want only a missing environment to", err)
			}
		})
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
