package localpair_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
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

	client := &http.Client{Transport: &http.Transport{}}
	seen := map[string]bool{}
	for range 4 {
		req, _ := http.NewRequest(http.MethodGet, pair.FrontendURL+"/", nil)
		req.Header.Set("Accept", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s = %v", pair.FrontendURL, err)
		}
		var v struct {
			Backend   struct{ Pod string }
			Discovery struct{ Source string }
		}
		err = json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || v.Discovery.Source != "dns" {
			t.Fatalf("GET / = %d %+v (%v), want 200 through dns", res.StatusCode, v, err)
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
