package endpointslices_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/endpointslices"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// TestRunStopsCleanly cancels Run while it watches, and while it waits to retry, and checks
// that it returns nil and leaves no goroutine behind. It must not run in parallel with other
// tests, which would change the goroutine count.
func TestRunStopsCleanly(t *testing.T) {
	for _, tt := range []struct {
		name   string
		forbid bool
	}{
		{name: "watching"},
		{name: "waiting to retry", forbid: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			func() {
				// Everything started here, the server included, ends before the count.
				ft := &cleanupT{T: t}
				defer ft.run()
				a := newFakeAPI(ft, testNS, testSvc)
				a.setForbidden(tt.forbid)
				a.put(slice{name: "a", ports: []map[string]any{tcp("http", 8080)}, endpoints: []map[string]any{ready("10.0.0.1")}})
				w := endpointslices.New(cfg("http"), a.api(staticToken("token-1")), nil)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- w.Run(ctx) }()
				if tt.forbid {
					waitFor(t, "two refused lists", func() bool { return a.stats().requests >= 2 })
				} else {
					waitSynced(t, w)
					waitFor(t, "a watch", func() bool { return len(a.stats().watchRVs) > 0 })
				}
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("Run() = %v after cancel, want nil", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("Run() did not return after cancel")
				}
			}()
			servicetest.WaitGoroutines(t, base)
		})
	}
}

// cleanupT runs the cleanups registered through it when run is called, rather than at the
// end of the test, so that the goroutines they end are gone before they are counted.
type cleanupT struct {
	*testing.T
	cleanups []func()
}

func (c *cleanupT) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

func (c *cleanupT) run() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
}
