package httpclient_test

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// ejectionCounter is a fake httpclient.Observer that counts ejections and notes how many
// requests the hung backend had received at the first one.
type ejectionCounter struct {
	hung           *atomic.Int64 // the hung backend's requests so far
	ejections      atomic.Int64
	hungAtEjection atomic.Int64 // hung's count at the first ejection; -1 before it
}

func (o *ejectionCounter) ObserveCall(discovery.Source, string, time.Duration) {}
func (o *ejectionCounter) ObserveAttempt(discovery.Source, string)             {}
func (o *ejectionCounter) ObserveEjection(discovery.Source) {
	if o.ejections.Add(1) == 1 {
		o.hungAtEjection.Store(o.hung.Load())
	}
}

// load calls c.Get at about rate calls per second, each in its own goroutine as independent
// clients would, until stop says so, and returns the calls made, those that needed more than
// one attempt (the ones that paid an attempt timeout here, since only the hung backend fails)
// and the failed ones.
func load(t *testing.T, c *httpclient.Client, rate int, stop func() bool) (calls, retried, failed int64) {
	t.Helper()
	var (
		wg             sync.WaitGroup
		nRetry, nFails atomic.Int64
	)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for !stop() {
		<-tick.C
		calls++
		wg.Go(func() {
			res, err := c.Get(t.Context(), "/")
			switch {
			case err != nil:
				nFails.Add(1)
				t.Errorf("Get error = %v", err)
			case res.Attempts > 1:
				nRetry.Add(1)
			}
		})
	}
	wg.Wait()
	return calls, nRetry.Load(), nFails.Load()
}

// TestHungBackendIsEjected plays a headless Service with three pods, one of which hangs (a
// SIGSTOPped process: it accepts connections and never answers). Without ejection every call
// that picks it pays a whole attempt timeout for as long as it hangs. With it, only the calls
// already sent to it before the EjectAfter-th timeout pay, then one probe per ejection time;
// once it answers again, a probe lets it back into the rotation.
//
// Counts, not timings, are asserted: on a busy machine the rate and the ejection times
// stretch, which changes the numbers below but not their relations.
func TestHungBackendIsEjected(t *testing.T) {
	t.Parallel()
	const rate = 100
	var hung, hungServed atomic.Int64
	recovered := make(chan struct{})
	hungAddr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-recovered:
			hungServed.Add(1)
			return
		default:
		}
		hung.Add(1)
		select {
		case <-recovered:
		case <-r.Context().Done():
		}
	}))
	good1, n1 := statusServer(t, 200)
	good2, n2 := statusServer(t, 200)
	obs := &ejectionCounter{hung: &hung}
	obs.hungAtEjection.Store(-1)
	cfg := httpclient.Config{
		Timeout:        10 * time.Second,
		AttemptTimeout: 250 * time.Millisecond,
		MaxAttempts:    3,
		BackoffBase:    time.Millisecond,
		BackoffMax:     5 * time.Millisecond,
		EjectAfter:     2,
		EjectFor:       500 * time.Millisecond,
		EjectForMax:    2 * time.Second,
	}
	c := newClient(t, cfg, httpclient.Deps{Resolver: fixed(good1, hungAddr, good2), Observer: obs})

	// While it hangs: 4s, or until the hung backend was ejected a third time (two
	// probes failed), whichever comes later, so that a slow machine still sees probes.
	start := time.Now()
	calls, retried, failed := load(t, c, rate, func() bool {
		return time.Since(start) > 4*time.Second && obs.ejections.Load() >= 3
	})
	hangDuration := time.Since(start)
	ejections, atFirst, total := obs.ejections.Load(), obs.hungAtEjection.Load(), hung.Load()
	t.Logf("hung backend: %d calls in %v, %d paid an attempt timeout (%d requests reached the hung backend, %d before the first ejection), %d ejections, %d failed calls; healthy backends served %d and %d",
		calls, hangDuration.Round(time.Millisecond), retried, total, atFirst, ejections, failed, n1.Load(), n2.Load())
	if atFirst < int64(cfg.EjectAfter) {
		t.Errorf("hung backend had %d requests at the first ejection, want at least EjectAfter = %d", atFirst, cfg.EjectAfter)
	}
	// After the first ejection, requests reach the hung backend only as probes, one per
	// ejection that follows, plus a few sent just before the first ejection and still on
	// their way.
	const inFlight = 5
	if after := total - atFirst; after > ejections-1+inFlight {
		t.Errorf("hung backend got %d requests after the first of %d ejections, want at most %d (one probe per re-ejection, %d in flight)",
			after, ejections, ejections-1+inFlight, inFlight)
	}
	if retried > total {
		t.Errorf("%d calls needed a retry, want at most the %d requests the hung backend got", retried, total)
	}
	if retried*5 > calls {
		t.Errorf("%d of %d calls paid an attempt timeout, want under a fifth", retried, calls)
	}

	// It recovers: a probe lets it back within EjectForMax (2s), or a few times that on a
	// slow machine.
	close(recovered)
	const want = 20
	deadline := time.Now().Add(30 * time.Second)
	calls, retried, failed = load(t, c, rate, func() bool {
		return hungServed.Load() >= want || time.Now().After(deadline)
	})
	t.Logf("recovered backend: %d calls until it served %d, %d retried, %d failed", calls, hungServed.Load(), retried, failed)
	if got := hungServed.Load(); got < want {
		t.Errorf("recovered backend served %d requests in 30s, want at least %d: it was never let back", got, want)
	}
}

// TestLastAddressIsNeverEjected: behind a ClusterIP Service the client sees one address,
// and a call must still go somewhere, so however often it times out it stays in.
func TestLastAddressIsNeverEjected(t *testing.T) {
	t.Parallel()
	var hung atomic.Int64
	obs := &ejectionCounter{hung: &hung}
	cfg := httpclient.Config{Timeout: time.Second, AttemptTimeout: 50 * time.Millisecond, MaxAttempts: 2,
		BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, EjectAfter: 1}
	c := newClient(t, cfg, httpclient.Deps{Resolver: fixed(silentAddr(t)), Observer: obs})
	const calls = 5
	for i := range calls {
		_, err := c.Get(t.Context(), "/")
		var e *httpclient.Error
		if !errors.As(err, &e) || e.Attempts != cfg.MaxAttempts {
			t.Fatalf("Get #%d error = %v, want %d attempts to the only address", i, err, cfg.MaxAttempts)
		}
	}
	if got := obs.ejections.Load(); got != 0 {
		t.Errorf("%d ejections of the only address, want 0", got)
	}
}
