package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// The answers of GET /api/pod/{name} that come from real pods and a real DNS server are
// tested with real backends in tools/pairtest (TestPodByName), which has the loopback DNS
// server: the frontend's module requires only what the frontend runs with. Here, what the
// frontend answers before any lookup.

// closedUDP returns a loopback address where no DNS server listens: a lookup sent there fails,
// so an answer that needed one would be a 503.
func closedUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestPodRouteBeforeLookup(t *testing.T) {
	t.Parallel()
	dns := closedUDP(t)
	start := func(environ ...string) string {
		environ = append([]string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "DISCOVERY_DNS_SERVER=" + dns}, environ...)
		return servicetest.Start(t, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
			return Run(ctx, nil, environ, stdout, opts...)
		}).URL
	}
	withPods, without := start("PODS_SERVICE=backend-stateful"), start()
	const badName = "pod name must be an RFC 1123 label: 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit"
	tests := []struct {
		base, path string
		wantStatus int
		wantError  string
	}{
		{without, "/api/pod/backend-0", http.StatusNotFound, "this frontend calls no pods by name: PODS_SERVICE is not set"},
		{withPods, "/api/pod/Backend-0", http.StatusBadRequest, badName},
		{withPods, "/api/pod/backend-0.kube-system", http.StatusBadRequest, badName},
		{withPods, "/api/pod/-backend", http.StatusBadRequest, badName},
		{withPods, "/api/pod/backend-0%2Ekube-system", http.StatusBadRequest, badName},
		{withPods, "/api/pod/backend-0?n=1", http.StatusBadRequest, `unknown query parameter "n": want none`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			res, err := http.Get(tt.base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var got struct {
				Error  string `json:"error"`
				Status int    `json:"status"`
			}
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != tt.wantStatus || got.Error != tt.wantError {
				t.Errorf("GET %s = %d %+v (%v), want %d %q", tt.path, res.StatusCode, got, err, tt.wantStatus, tt.wantError)
			}
		})
	}
}

func TestPodsConfigRefused(t *testing.T) {
	t.Parallel()
	servicetest.Refuses(t, Run, []servicetest.Refusal{
		{Name: "service not a label", Environ: []string{"PODS_SERVICE=backend-stateful.prod"}, WantVars: []string{"PODS_SERVICE"}},
		{Name: "port out of range", Environ: []string{"PODS_PORT=" + strconv.Itoa(1<<16)}, WantVars: []string{"PODS_PORT"}},
		{Name: "both", Environ: []string{"PODS_SERVICE=Backend", "PODS_PORT=0"}, WantVars: []string{"PODS_PORT", "PODS_SERVICE"}},
	})
}
