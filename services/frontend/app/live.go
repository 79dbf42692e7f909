package app

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

const (
	// defaultLiveN is how many calls each mode makes per /api/live request when the query has
	// no n: the page asks once a second, so 5 and 5 make a steady trickle a user can follow.
	defaultLiveN = 5
	// maxLiveN caps n: /api/live is a view of calls as they happen, not a load test
	// (/api/spread counts larger batches).
	maxLiveN = 20
)

// The two modes of a live call.
const (
	modeFresh     = "fresh"     // a connection of the call's own, closed after the answer
	modeKeepAlive = "keepalive" // the client's pool, as GET / and all steady traffic use it
)

// pageCSP is the Content-Security-Policy of the HTML page: httpserver's, plus scripts and
// fetches from the frontend itself, for /live.js and its requests to /api/live. Still no
// inline script or style, and nothing from another origin.
const pageCSP = httpserver.ContentSecurityPolicy + "; script-src 'self'; connect-src 'self'"

// liveCall is one call of a live batch, failed or not.
type liveCall struct {
	Mode string `json:"mode"`
	// Pod is the backend pod that answered; empty when the call failed.
	Pod string `json:"pod"`
	// Addr is the address that answered, or the last one tried.
	Addr   string `json:"addr"`
	Source string `json:"source"`
	// Status is 200 for an answer, else the status GET / would have answered with.
	Status    int     `json:"status"`
	Error     string  `json:"error,omitempty"`
	Attempts  int     `json:"attempts"`
	LatencyMS float64 `json:"latency_ms"`
}

// liveDiscovery says how the calls found the backend and which addresses it gave.
type liveDiscovery struct {
	Source string   `json:"source"`
	Name   string   `json:"name"`
	Addrs  []string `json:"addrs"`
	// Balancing is "connection" when discovery gives one address (a ClusterIP: kube-proxy
	// picks a pod per connection), "client" when it gives one per pod (the client picks a
	// pod per call) and "" when it found nothing.
	Balancing string `json:"balancing"`
}

// liveView is the answer of /api/live.
type liveView struct {
	Discovery liveDiscovery `json:"discovery"`
	// Hint explains, for the discovery in use, what the two modes should show.
	Hint string `json:"hint"`
	// MaxConnAgeMS is CLIENT_MAX_CONN_AGE in milliseconds, -1 for no limit.
	MaxConnAgeMS int64      `json:"max_conn_age_ms"`
	Calls        []liveCall `json:"calls"`
	DurationMS   float64    `json:"duration_ms"`
	TraceID      string     `json:"trace_id"`
}

// parseLiveN reads the n query parameter of /api/live: absent means defaultLiveN, anything
// else must be an integer in [1, maxLiveN].
func parseLiveN(value string, ok bool) (int, error) {
	if !ok {
		return defaultLiveN, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 || n > maxLiveN {
		return 0, fmt.Errorf("n must be an integer from 1 to %d", maxLiveN)
	}
	return n, nil
}

// handleLive is GET /api/live?n=5: n calls on fresh connections and n over the keep-alive
// pool, side by side, each reported as it ended (pod, address, status, attempts, latency),
// with the discovery that found the backend and a hint saying what the two should show. The
// HTML page polls it to draw the calls as they happen; tests read it too.
//
// Its budget is /api/spread's: at most limits.maxInFlight batches at once (its own slots,
// so the live page and a spread do not refuse each other), one more is a 429 with
// Retry-After, and a batch ends within limits.timeout. Bad query parameters are a 400.
func handleLive(backend *backendCaller, limits spreadLimits, logger *slog.Logger) http.Handler {
	limits = limits.withDefaults()
	slots := newBatchSlots(limits.maxInFlight, "live batches")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := httpserver.Query(r, "n")
		if err != nil {
			httpserver.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		nValue, hasN := q["n"]
		n, err := parseLiveN(nValue, hasN)
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
		view := live(ctx, backend, n)
		if failed := countFailed(view.Calls); failed > 0 {
			logger.WarnContext(r.Context(), "live calls failed", "failed", failed, "calls", len(view.Calls))
		}
		w.Header().Set("Cache-Control", "no-store")
		httpserver.WriteJSON(w, http.StatusOK, view)
	})
}

func countFailed(calls []liveCall) int {
	failed := 0
	for _, c := range calls {
		if c.Pod == "" {
			failed++
		}
	}
	return failed
}

// live makes n fresh and n keep-alive calls: one worker per mode, each making its calls one
// after the other (paced like a spread), so the keep-alive worker reuses one pooled
// connection the way a steady caller does. The fresh calls go through a client that keeps no
// connections: they never take one from the pool, which would move the keep-alive view.
func live(ctx context.Context, backend *backendCaller, n int) liveView {
	start := time.Now()
	view := liveView{
		Calls:        make([]liveCall, 0, 2*n),
		MaxConnAgeMS: backend.maxConnAge.Milliseconds(),
		TraceID:      traceID(ctx),
	}
	if backend.maxConnAge < 0 {
		view.MaxConnAgeMS = -1
	}
	var (
		mu       sync.Mutex
		endpoint discovery.Endpoint
		answered bool // endpoint is from an answered call: the whole resolution, name included
		wg       sync.WaitGroup
	)
	for _, mode := range []string{modeFresh, modeKeepAlive} {
		wg.Go(func() {
			pace := time.NewTicker(spreadInterval)
			defer pace.Stop()
			for i := range n {
				if i > 0 {
					select {
					case <-pace.C:
					case <-ctx.Done():
						// Go on: the calls left fail at once, as the deadline's failures.
					}
				}
				c, ep := liveOne(ctx, backend, mode)
				mu.Lock()
				view.Calls = append(view.Calls, c)
				// A failed call knows only the addresses it tried: it describes discovery
				// only while no call has been answered.
				if c.Pod != "" || (!answered && ep.Source != "") {
					endpoint, answered = ep, c.Pod != ""
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	view.Discovery = describe(endpoint)
	view.Hint = hint(view.Discovery, backend.maxConnAge)
	view.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return view
}

// liveOne makes one call in mode and reports it, with the resolution the call used (for a
// failed call, its source and the addresses it tried).
func liveOne(ctx context.Context, backend *backendCaller, mode string) (liveCall, discovery.Endpoint) {
	v, err := backend.call(ctx, mode == modeFresh)
	c := liveCall{Mode: mode, Status: http.StatusOK, Attempts: v.Attempts, LatencyMS: v.LatencyMS,
		Addr: v.Discovery.Addr, Source: v.Discovery.Source, Pod: v.Backend.Pod}
	if err == nil {
		return c, v.endpoint
	}
	f := failure(err, v)
	c.Pod, c.Status, c.Error, c.Attempts = "", f.Status, f.Error, f.Tried.Attempts
	c.Source = f.Tried.Source
	if len(f.Tried.Addrs) > 0 {
		c.Addr = f.Tried.Addrs[len(f.Tried.Addrs)-1]
	}
	var ce *httpclient.Error
	if errors.As(err, &ce) && ce.Source != "" {
		return c, discovery.Endpoint{Source: ce.Source, Addrs: ce.Addrs}
	}
	return c, v.endpoint
}

// describe turns the last resolution into what the page shows.
func describe(ep discovery.Endpoint) liveDiscovery {
	d := liveDiscovery{Source: string(ep.Source), Name: ep.Name, Addrs: ep.Addrs}
	if d.Addrs == nil {
		d.Addrs = []string{}
	}
	switch {
	case len(d.Addrs) == 1:
		d.Balancing = "connection"
	case len(d.Addrs) > 1:
		d.Balancing = "client"
	}
	return d
}

// hint says what the two views should show for the discovery in use. It reads only what
// discovery returned: one address is a Service's ClusterIP (or something like it, such as
// the local run's stand-in), several are the pods themselves.
func hint(d liveDiscovery, maxConnAge time.Duration) string {
	age := fmt.Sprintf("until CLIENT_MAX_CONN_AGE (%v) retires the connection and the next one may reach another pod", maxConnAge)
	switch {
	case maxConnAge < 0:
		age = "for good (CLIENT_MAX_CONN_AGE is off)"
	case maxConnAge == 0: // httpclient's default, which the environment always sets
		age = "until CLIENT_MAX_CONN_AGE retires the connection and the next one may reach another pod"
	}
	via := map[string]string{
		string(discovery.SourceDNS): "DNS",
		string(discovery.SourceEnv): "the Kubernetes environment variables",
		"endpointslices":            "the EndpointSlice watch",
	}[d.Source]
	if via == "" {
		via = d.Source
	}
	switch d.Balancing {
	case "connection":
		return fmt.Sprintf("%s gives one address, %s: a ClusterIP Service. kube-proxy picks a pod for each "+
			"new connection, so fresh connections spread over the pods, while the keep-alive pool keeps "+
			"sending to the pod its connection reached, %s.", via, d.Addrs[0], age)
	case "client":
		return fmt.Sprintf("%s gives %d addresses, one per pod (%s): the client balances itself, round robin "+
			"over the pods, so both views spread, connection or not.", via, len(d.Addrs), strings.Join(d.Addrs, ", "))
	default:
		return "Discovery has found no address for the backend yet."
	}
}

// The page's script and stylesheet, served from the binary like /style.css.
var (
	//go:embed static/live.js
	liveJS []byte
	//go:embed static/live.css
	liveCSS []byte
)

// handleStatic serves an embedded file; a browser may keep it for an hour, as /style.css.
func handleStatic(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(body)
	})
}
