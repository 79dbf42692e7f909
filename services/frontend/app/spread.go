package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

const (
	// defaultSpreadN is used when the query has no n (or SPREAD_MAX_N, when that is lower).
	defaultSpreadN = 30
	// defaultSpreadMaxN is SPREAD_MAX_N's default, for a zero spreadLimits.
	defaultSpreadMaxN = 100
	// spreadWorkers is how many calls one spread runs at once: two keep up with
	// spreadInterval. Eight unpaced ones, run back to back, made GET / p99 four times its
	// idle value on a 2-CPU machine (BenchmarkGetUnderSpreads in tools/pairtest).
	spreadWorkers = 2
	// spreadInterval paces a spread's calls: one starts at most this often, 200 a second,
	// so a spread of 100 takes half a second and a frontend kept busy with spreads still has
	// CPU for GET /.
	spreadInterval = 5 * time.Millisecond
	// spreadRetryAfter is the Retry-After of a refused spread, in seconds: a spread of the
	// default SPREAD_MAX_N takes about half a second, so by then a slot is likely free.
	spreadRetryAfter = "1"
)

// spreadLimits is the budget of /api/spread, from SPREAD_MAX_N, SPREAD_MAX_IN_FLIGHT and
// SPREAD_TIMEOUT. Each request turns into n backend calls on fresh connections, so without a
// budget a few strangers could make one frontend open thousands of connections and slow
// everyone else's GET /.
type spreadLimits struct {
	maxN        int           // largest n; zero means defaultSpreadMaxN
	maxInFlight int           // spreads at once per frontend; zero means 1
	timeout     time.Duration // bound on one spread; zero means 10s
}

// withDefaults fills the zero fields, so a zero spreadLimits is a safe budget.
func (l spreadLimits) withDefaults() spreadLimits {
	if l.maxN <= 0 {
		l.maxN = defaultSpreadMaxN
	}
	if l.maxInFlight <= 0 {
		l.maxInFlight = 1
	}
	if l.timeout <= 0 {
		l.timeout = 10 * time.Second
	}
	return l
}

// parseSpreadN reads the n query parameter (ok says whether the query has one): absent means
// the default, anything else must be an integer in [1, maxN].
func parseSpreadN(value string, ok bool, maxN int) (int, error) {
	if !ok {
		return min(defaultSpreadN, maxN), nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 || n > maxN {
		return 0, fmt.Errorf("n must be an integer from 1 to %d", maxN)
	}
	return n, nil
}

// parseKeepAlive reads the keepalive query parameter: absent or 0 is off, 1 is on, and any
// other value is refused rather than read as off.
func parseKeepAlive(value string, ok bool) (bool, error) {
	switch {
	case !ok || value == "0":
		return false, nil
	case value == "1":
		return true, nil
	default:
		return false, errors.New("keepalive must be 0 or 1")
	}
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
//
// The budget: n is at most limits.maxN, and a frontend runs at most limits.maxInFlight spreads
// at once; one more is refused at once with 429 and Retry-After instead of queueing, so a
// burst of spreads costs the frontend nothing but the refusals. Bad or repeated query
// parameters are a 400, checked before a slot is taken.
func handleSpread(backend *backendCaller, limits spreadLimits, logger *slog.Logger) http.Handler {
	limits = limits.withDefaults()
	slots := newBatchSlots(limits.maxInFlight, "spreads")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := httpserver.Query(r, "n", "keepalive")
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		nValue, hasN := q["n"]
		n, err := parseSpreadN(nValue, hasN, limits.maxN)
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		kaValue, hasKA := q["keepalive"]
		keepAlive, err := parseKeepAlive(kaValue, hasKA)
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		release, ok := slots.take(w)
		if !ok {
			return
		}
		defer release()
		ctx, cancel := context.WithTimeout(r.Context(), limits.timeout)
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
	pace := time.NewTicker(spreadInterval)
	defer pace.Stop()
	for range min(spreadWorkers, n) {
		wg.Go(func() {
			for {
				select {
				case <-pace.C:
				case <-ctx.Done():
					// Count what is left as the deadline's failures, as a call would.
				}
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

// batchSlots bounds the batches of calls (a spread, a live batch) a frontend runs at once:
// one more is refused at once with 429 and Retry-After instead of queueing, so a burst costs
// the frontend nothing but the refusals.
type batchSlots struct {
	slots chan struct{}
	busy  string
}

// newBatchSlots makes room for n batches at once; what names them in the refusal.
func newBatchSlots(n int, what string) *batchSlots {
	return &batchSlots{
		slots: make(chan struct{}, n),
		busy:  fmt.Sprintf("too many %s at once: this frontend runs at most %d; retry after %s s", what, n, spreadRetryAfter),
	}
}

// take takes a slot and returns its release, or writes the 429 and returns false.
func (b *batchSlots) take(w http.ResponseWriter) (release func(), ok bool) {
	select {
	case b.slots <- struct{}{}:
		return func() { <-b.slots }, true
	default:
		w.Header().Set("Retry-After", spreadRetryAfter)
		httpserver.WriteError(w, http.StatusTooManyRequests, b.busy)
		return nil, false
	}
}
