package pairtest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/service"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
	backend "github.com/svc2svc/svc2svc/services/backend/app"
	"github.com/svc2svc/svc2svc/services/frontend/app"
)

// spreadWave is how often the strangers of BenchmarkGetUnderSpreads fire their ten spreads at
// most: a new wave starts when the last one has been answered, but not sooner than this, so
// refusals that come back at once do not turn into a tight loop that measures the load
// generator rather than the frontend.
const spreadWave = 50 * time.Millisecond

// BenchmarkGetUnderSpreads measures what ten strangers asking for spreads at once do to
// everyone else's GET /: each op is one GET / (JSON, keep-alive, one at a time), and p50-ms
// and p99-ms are its latency percentiles. Meanwhile ten clients send GET /api/spread?n=N
// concurrently, in waves. "idle" has no spreads; "budget" runs the frontend with its default
// budget (SPREAD_MAX_N=100, SPREAD_MAX_IN_FLIGHT=1); "loosest" with the loosest budget the
// bounds allow (SPREAD_MAX_N=1000, SPREAD_MAX_IN_FLIGHT=16), which lets all ten run. spread-200,
// spread-400 and spread-429 count the spreads' answers, spread-calls/op the backend calls
// the answered spreads made per GET /. Compare p99-ms of a loaded case with idle's; run with -benchtime 2000x or more
// for a stable p99. Every server and client shares this machine's CPUs.
func BenchmarkGetUnderSpreads(b *testing.B) {
	budget := []string{}
	loosest := []string{"SPREAD_MAX_N=1000", "SPREAD_MAX_IN_FLIGHT=16"}
	cases := []struct {
		name    string
		environ []string
		n       int // 0: no spreads
	}{
		{"idle", budget, 0},
		{"budget/n=1000", budget, 1000},
		{"budget/n=100", budget, 100},
		{"loosest/n=1000", loosest, 1000},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			fe := benchPair(b, tc.environ...)
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var answers [600]atomic.Int64
			if tc.n > 0 {
				wg.Go(func() { strangers(ctx, fe+fmt.Sprintf("/api/spread?n=%d", tc.n), &answers) })
			}
			c := benchClient(b)
			if err := hit(c, fe+"/"); err != nil { // connect outside the measurement
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if err := hit(c, fe+"/"); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			stop()
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(float64(answers[200].Load()*int64(tc.n))/float64(len(lat)), "spread-calls/op")
			for _, code := range []int{200, 400, 429} {
				b.ReportMetric(float64(answers[code].Load()), fmt.Sprintf("spread-%d", code))
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// strangers sends ten concurrent GETs of url in waves until ctx is done, counting the answers
// by status. Each has a connection of its own, as ten strangers would.
func strangers(ctx context.Context, url string, answers *[600]atomic.Int64) {
	tick := time.NewTicker(spreadWave)
	defer tick.Stop()
	for ctx.Err() == nil {
		var wave sync.WaitGroup
		for range 10 {
			wave.Go(func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Close = true
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode < len(answers) {
					answers[res.StatusCode].Add(1)
				}
			})
		}
		wave.Wait()
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// benchPair starts a backend and a frontend that finds it through the Kubernetes environment
// variables, both quiet once they listen, and returns the frontend's URL. environ adds to the
// frontend's environment.
func benchPair(b *testing.B, environ ...string) string {
	b.Helper()
	be := servicetest.Start(b, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		q := &quietly{w: stdout}
		return backend.Run(ctx, nil, []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "DRAIN_DELAY=0s", "POD_NAME=backend-bench"}, q, append(opts, q.quiet())...)
	})
	_, port, _ := net.SplitHostPort(be.Addr)
	fe := servicetest.Start(b, func(ctx context.Context, stdout io.Writer, opts ...service.Option) error {
		q := &quietly{w: stdout}
		return app.Run(ctx, nil, append([]string{"LISTEN_HOST=127.0.0.1", "PORT=0", "DRAIN_DELAY=0s", "POD_NAME=frontend-bench",
			"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT=" + port,
		}, environ...), q, append(opts, q.quiet())...)
	})
	return fe.URL
}
