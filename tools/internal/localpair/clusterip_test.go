package localpair_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
)

// TestStartClusterIP runs the pair behind the ClusterIP stand-in: the frontend finds one
// address, the stand-in's, and the same lesson as in a cluster shows in /api/live: its fresh
// connections reach several backends, its keep-alive calls one.
func TestStartClusterIP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var logs servicetest.Buffer
	pair, err := localpair.Start(ctx, localpair.Config{ClusterIP: true, Environ: []string{"LOG_LEVEL=warn"}, Stdout: &logs})
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
	if pair.ServiceAddr == "" {
		t.Fatal("ServiceAddr is empty with ClusterIP")
	}

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	res, err := client.Get(pair.FrontendURL + "/api/live?n=20")
	if err != nil {
		t.Fatalf("GET /api/live = %v", err)
	}
	defer res.Body.Close()
	var live struct {
		Discovery struct {
			Addrs     []string
			Balancing string
		}
		Calls []struct{ Mode, Pod, Addr string }
	}
	if err := json.NewDecoder(res.Body).Decode(&live); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/live = %d, %v\n%s", res.StatusCode, err, logs.String())
	}
	if len(live.Discovery.Addrs) != 1 || live.Discovery.Addrs[0] != pair.ServiceAddr || live.Discovery.Balancing != "connection" {
		t.Errorf("discovery = %+v, want the one address %s, balancing per connection", live.Discovery, pair.ServiceAddr)
	}
	pods := map[string]map[string]bool{"fresh": {}, "keepalive": {}}
	for _, c := range live.Calls {
		if c.Pod == "" || c.Addr != pair.ServiceAddr {
			t.Errorf("call %+v, want an answer through %s", c, pair.ServiceAddr)
			continue
		}
		pods[c.Mode][c.Pod] = true
	}
	// 20 fresh connections all reach the same one of 3 backends with a chance of 3 in 3^20.
	if len(pods["fresh"]) < 2 {
		t.Errorf("20 fresh connections reached %v, want several backends", pods["fresh"])
	}
	if len(pods["keepalive"]) != 1 {
		t.Errorf("20 keep-alive calls reached %v, want one backend (one pooled connection)", pods["keepalive"])
	}
}
