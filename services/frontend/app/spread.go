package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

const (
	// defaultSpreadN is used when the query has no n.
	defaultSpreadN = 30
	// maxSpreadN keeps one request from turning into a load test.
	maxSpreadN = 1000
	// spreadWorkers is how many calls run at once: enough to finish 1000 calls quickly, few
	// enough not to swamp a small backend.
	spreadWorkers = 8
)

// errSpreadN is the reason a bad n is refused.
var errSpreadN = fmt.Errorf("n must be an integer from 1 to %d", maxSpreadN)

// parseSpreadN reads the n query parameter: absent means the default, anything else must be an
// integer in [1, maxSpreadN].
func parseSpreadN(values []string) (int, error) {
	if len(values) == 0 {
		return defaultSpreadN, nil
	}
	if len(values) > 1 {
		return 0, errSpreadN
	}
	n, err := strconv.Atoi(values[0])
	if err != nil || n < 1 || n > maxSpreadN {
		return 0, errSpreadN
	}
	return n, nil
}

// spreadView counts which backend pod answered each of n calls.
type spreadView struct {
	Requested  int            `json:"requested"`
	KeepAlive  bool           `json:"keepalive"`
	Succeeded  int            `json:"succeeded"`
	Failed     int            `json:"failed"`
	ByPod      map[string]int `json:"by_pod"`
	BySource   map[string]int `json:"by_source"`
	Errors     map[string]int `json:"errors,omitempty"`
	DurationMS float64        `json:"duration_ms"`
	TraceID    string         `json:"trace_id"`
}

// handleSpread is GET /api/spread?n=30: n calls to the backend, counted per pod, so a user sees
// how a Service spreads new connections over the replicas. Each call has a connection of its
// own, because kube-proxy balances per connection: over pooled keep-alive connections a
// fresh frontend would show the few pods its first connections happened to reach. Add
// keepalive=1 to see exactly that: the pool's view, which is what steady traffic gets (and
// what CLIENT_MAX_CONN_AGE and client-side balancing through a headless Service even out).
func handleSpread(backend *backendCaller, timeout time.Duration, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := parseSpreadN(r.URL.Query()["n"])
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		keepAlive := r.URL.Query().Get("keepalive") == "1"
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		view, lastErr := spread(ctx, backend, n, !keepAlive)
		if view.Succeeded == 0 && lastErr != nil {
			f := failure(lastErr, callView{LatencyMS: view.DurationMS, TraceID: view.TraceID})
			logger.WarnContext(r.Context(), "spread failed", "error", lastErr, "status", f.Status, "requested", n)
			httpserver.WriteJSON(w, f.Status, struct {
				failureView
				Spread spreadView `json:"spread"`
			}{f, view})
			return
		}
		httpserver.WriteJSON(w, http.StatusOK, view)
	})
}

// spread makes n calls with a few workers and counts the answers; it returns the last error
// seen so a total failure can be reported with the right status.
func spread(ctx context.Context, backend *backendCaller, n int, fresh bool) (spreadView, error) {
	start := time.Now()
	view := spreadView{
		Requested: n,
		KeepAlive: !fresh,
		ByPod:     map[string]int{},
		BySource:  map[string]int{},
		Errors:    map[string]int{},
		TraceID:   traceID(ctx),
	}
	var (
		mu      sync.Mutex
		lastErr error
		next    int
		wg      sync.WaitGroup
	)
	for range min(spreadWorkers, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == n {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()

				v, err := backend.call(ctx, fresh)
				mu.Lock()
				if err != nil {
					view.Failed++
					view.Errors[failure(err, v).Error]++
					lastErr = err
				} else {
					view.Succeeded++
					view.ByPod[v.Backend.Pod]++
					view.BySource[v.Discovery.Source]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	view.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return view, lastErr
}
