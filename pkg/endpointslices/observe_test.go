package endpointslices_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/endpointslices"
)

// observations records what a Watcher reports.
type observations struct {
	mu       sync.Mutex
	ready    []int
	failures int
}

func (o *observations) ObserveReady(service string, ready int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if service == testSvc {
		o.ready = append(o.ready, ready)
	}
}

func (o *observations) ObserveFailure(service string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if service == testSvc {
		o.failures++
	}
}

func (o *observations) get() ([]int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.ready), o.failures
}

// The Observer hears of every refused list and of each change of the ready count, the two
// things an operator watches to know the view is current.
func TestObserver(t *testing.T) {
	t.Parallel()
	a := newFakeAPI(t, testNS, testSvc)
	a.setForbidden(true)
	http8080 := []map[string]any{tcp("http", 8080)}
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1"), ready("10.0.0.2")}})
	obs := &observations{}
	logs := &logBuffer{}
	w := endpointslices.New(cfg("http"), a.api(staticToken("token-1")), logs.logger(), endpointslices.WithObserver(obs))
	runUntilCleanup(t, w)

	waitFor(t, "two refused lists", func() bool { _, f := obs.get(); return f >= 2 })
	a.setForbidden(false)
	waitAddrs(t, w, "10.0.0.1:8080 10.0.0.2:8080")
	a.put(slice{name: "a", ports: http8080, endpoints: []map[string]any{ready("10.0.0.1"), notReady("10.0.0.2")}})
	waitAddrs(t, w, "10.0.0.1:8080")
	a.remove("a")
	waitAddrs(t, w, noReady)

	if got, _ := obs.get(); !slices.Equal(got, []int{2, 1, 0}) {
		t.Errorf("ObserveReady counts = %v, want [2 1 0]", got)
	}
}
