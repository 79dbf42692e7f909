package localpair_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
)

func TestStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var logs servicetest.Buffer
	pair, err := localpair.Start(ctx, localpair.Config{Replicas: 2, Environ: []string{"LOG_LEVEL=warn"}, Stdout: &logs})
	if err != nil {
		cancel()
		t.Fatalf("Start = %v", err)
	}
	if len(pair.BackendAddrs) != 2 {
		t.Errorf("BackendAddrs = %v, want 2 addresses", pair.BackendAddrs)
	}
	if len(pair.BackendAdminAddrs) != 2 {
		t.Fatalf("BackendAdminAddrs = %v, want 2 addresses", pair.BackendAdminAddrs)
	}
	for _, a := range pair.BackendAdminAddrs {
		res, err := http.Get("http://" + a + "/metrics")
		if err != nil {
			t.Fatalf("GET %s/metrics = %v", a, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s/metrics = %d, want 200 from a backend's admin port", a, res.StatusCode)
		}
	}

	client := &http.Client{Transport: &http.Transport{}}
	seen := map[string]bool{}
	for range 4 {
		v, status, err := getView(t, client, pair.FrontendURL)
		if err != nil || status != http.StatusOK || v.Discovery.Source != "dns" {
			t.Fatalf("GET / = %d %+v (%v), want 200 through dns", status, v, err)
		}
		seen[v.Backend.Pod] = true
	}
	client.CloseIdleConnections()
	if !seen["backend-1"] || !seen["backend-2"] {
		t.Errorf("GET / reached %v, want backend-1 and backend-2 in turn", seen)
	}

	cancel()
	if err := pair.Wait(); err != nil {
		t.Errorf("Wait after cancel = %v, want nil", err)
	}
	if strings.Contains(logs.String(), `"http request"`) {
		t.Errorf("logs have access log lines with LOG_LEVEL=warn from Environ:\n%s", logs.String())
	}
}

// TestStartTLS runs the pair over HTTPS and mutual TLS: the frontend reaches a backend with
// scheme https, and under mutual TLS a client without a certificate does not.
func TestStartTLS(t *testing.T) {
	t.Parallel()
	for _, mode := range []localpair.TLS{localpair.TLSOn, localpair.TLSMutual} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			var logs servicetest.Buffer
			pair, err := localpair.Start(ctx, localpair.Config{Replicas: 1, TLS: mode, Environ: []string{"LOG_LEVEL=warn"}, Stdout: &logs})
			if err != nil {
				cancel()
				t.Fatalf("Start = %v", err)
			}
			defer func() {
				cancel()
				if err := pair.Wait(); err != nil {
					t.Errorf("Wait after cancel = %v, want nil", err)
				}
			}()

			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			v, status, err := getView(t, client, pair.FrontendURL)
			if err != nil || status != http.StatusOK || v.Discovery.Scheme != "https" || v.Backend.Pod != "backend-1" {
				t.Fatalf("GET / = %d %+v (%v), want 200 from backend-1 over https\n%s", status, v, err, logs.String())
			}

			// Straight to the backend, trusting any certificate but presenting none.
			anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			defer anon.CloseIdleConnections()
			res, err := anon.Get("https://" + pair.BackendAddrs[0] + "/")
			if err == nil {
				res.Body.Close()
			}
			if refused := err != nil; refused != (mode == localpair.TLSMutual) {
				t.Errorf("GET https://backend-1/ without a client certificate = %v, want refused only under mtls", err)
			}
		})
	}
}

func TestTLSUnmarshalText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]localpair.TLS{"": localpair.TLSOff, "0": localpair.TLSOff, "1": localpair.TLSOn, "https": localpair.TLSOn, "mtls": localpair.TLSMutual} {
		var got localpair.TLS
		if err := got.UnmarshalText([]byte(in)); err != nil || got != want {
			t.Errorf("UnmarshalText(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	var got localpair.TLS
	if err := got.UnmarshalText([]byte("yes")); err == nil {
		t.Errorf("UnmarshalText(yes) = %q, nil, want an error", got)
	}
}

func TestStartPortTaken(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	_, err = localpair.Start(context.Background(), localpair.Config{Replicas: 1, FrontendPort: port})
	if err == nil || !strings.Contains(err.Error(), "frontend") {
		t.Errorf("Start with the frontend's port taken = %v, want an error naming the frontend", err)
	}
}

// view is the part of the frontend's JSON answer these tests read.
type view struct {
	Backend   struct{ Pod string }
	Discovery struct{ Source, Scheme string }
}

// getView asks the frontend at url for GET / as JSON and decodes the answer.
func getView(t *testing.T, client *http.Client, url string) (view, int, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s = %v", url, err)
	}
	defer res.Body.Close()
	var v view
	err = json.NewDecoder(res.Body).Decode(&v)
	return v, res.StatusCode, err
}

// TestTLSEnviron checks the variables TLSEnviron returns name Secret dirs tlsdir can load,
// with the client's identity allowed under mutual TLS only, and that TLSOff is an error.
func TestTLSEnviron(t *testing.T) {
	t.Parallel()
	for _, mode := range []localpair.TLS{localpair.TLSOn, localpair.TLSMutual} {
		backendEnv, frontendEnv, err := localpair.TLSEnviron(t.TempDir(), mode)
		if err != nil {
			t.Fatalf("TLSEnviron(%q) = %v", mode, err)
		}
		for _, kv := range append(slices.Clone(backendEnv[:1]), frontendEnv...) {
			_, dir, _ := strings.Cut(kv, "=")
			if _, err := tlsdir.Load(tlsdir.Config{Dir: dir}); err != nil {
				t.Errorf("TLSEnviron(%q): %s: Load = %v", mode, kv, err)
			}
		}
		mutual := slices.Contains(backendEnv, "TLS_ALLOWED_CLIENTS="+localpair.FrontendID)
		if mutual != (mode == localpair.TLSMutual) || !strings.HasPrefix(backendEnv[0], "TLS_DIR=") ||
			len(frontendEnv) != 1 || !strings.HasPrefix(frontendEnv[0], "CLIENT_TLS_DIR=") {
			t.Errorf("TLSEnviron(%q) = %q, %q, want TLS_DIR (and the frontend allowed under mtls), CLIENT_TLS_DIR", mode, backendEnv, frontendEnv)
		}
	}
	if _, _, err := localpair.TLSEnviron(t.TempDir(), localpair.TLSOff); err == nil {
		t.Error("TLSEnviron(TLSOff) = nil error, want one")
	}
}
