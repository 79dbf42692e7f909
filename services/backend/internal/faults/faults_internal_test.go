package faults

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestHitSpreadsEvenly checks that percent hits exactly that many of every 100 calls.
func TestHitSpreadsEvenly(t *testing.T) {
	t.Parallel()
	for _, p := range []int{1, 30, 50, 99, 100} {
		a := &active{spec: Spec{Error: 503, Percent: p}}
		hits := 0
		for range 300 {
			if a.hit() {
				hits++
			}
		}
		if hits != 3*p {
			t.Errorf("percent %d: %d hits in 300 calls, want %d", p, hits, 3*p)
		}
	}
}

// TestFlap checks the flapping readiness on a clock of the test's own: not ready for the
// first FlapEvery, ready for the next, and so on.
func TestFlap(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	in := New(context.Background(), 15*time.Second, Deps{Now: clock})
	s := &Spec{Readiness: ReadinessFlap, FlapEvery: Duration(10 * time.Second)}
	if err := s.check(15 * time.Second); err != nil {
		t.Fatalf("check(%+v) = %v", s, err)
	}
	in.set(s, "test")
	for _, step := range []struct {
		at   time.Duration
		want bool
	}{{0, false}, {9 * time.Second, false}, {10 * time.Second, true}, {19 * time.Second, true}, {20 * time.Second, false}, {35 * time.Second, true}} {
		mu.Lock()
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(step.at)
		mu.Unlock()
		if got := in.Ready(); got != step.want {
			t.Errorf("Ready() %v after the PUT = %v, want %v", step.at, got, step.want)
		}
	}
}

// BenchmarkWrap measures what FAULTS=on costs GET / with no fault set, and with a fault that
// hits none of the requests.
func BenchmarkWrap(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tc := range []struct {
		name string
		spec *Spec
	}{{"no fault", nil}, {"readiness only", &Spec{Readiness: ReadinessFail}}} {
		b.Run(tc.name, func(b *testing.B) {
			in := New(context.Background(), 15*time.Second, Deps{})
			in.set(tc.spec, "bench")
			h := in.Wrap(ok)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
