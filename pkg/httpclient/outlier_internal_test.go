package httpclient

import (
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

func TestEjectionLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addrs, percent, want int
	}{
		{1, 50, 0}, // a ClusterIP Service: its one address is never ejected
		{1, 100, 0},
		{2, 50, 1},
		{3, 50, 1},
		{4, 50, 2},
		{3, 100, 2}, // never all
		{10, 10, 1},
		{5, 10, 0},
	}
	for _, tt := range tests {
		o := newOutliers(Config{EjectMaxPercent: tt.percent}.withDefaults())
		if got := o.limit(tt.addrs); got != tt.want {
			t.Errorf("limit(%d) with EjectMaxPercent %d = %d, want %d", tt.addrs, tt.percent, got, tt.want)
		}
	}
}

// TestEjectionCycle walks one address through ejection, a failed probe, a longer ejection,
// a successful probe and re-admission.
func TestEjectionCycle(t *testing.T) {
	t.Parallel()
	const bad, good1, good2 = "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"
	addrs := []string{bad, good1, good2}
	o := newOutliers(Config{EjectAfter: 2, EjectFor: 20 * time.Millisecond, EjectForMax: time.Hour, AttemptTimeout: time.Hour}.withDefaults())

	if o.failed(bad, addrs) {
		t.Fatal("failed #1 ejected, want not before EjectAfter = 2")
	}
	o.succeeded(bad) // an answer in between resets the count
	if o.failed(bad, addrs) {
		t.Fatal("failed after a success ejected, want the count reset")
	}
	if !o.failed(bad, addrs) {
		t.Fatal("second consecutive failure did not eject")
	}
	for range 2 {
		if o.failed(good1, addrs) {
			t.Error("a second address of three was ejected, want at most half of them, rounded down")
		}
	}
	o.succeeded(good1)
	if skip, probe := o.skip(addrs, nil); len(skip) != 1 || skip[0] != bad || probe != "" {
		t.Fatalf("skip right after the ejection = %v, %q, want [%s] and no probe", skip, probe, bad)
	}

	probe := waitProbe(t, o, addrs)
	if skip, again := o.skip(addrs, nil); again != "" || len(skip) != 1 {
		t.Fatalf("skip while the probe is out = %v, %q, want %s still skipped and no second probe", skip, again, bad)
	}
	if !o.failed(probe, addrs) {
		t.Fatal("failed probe did not eject again")
	}
	v := o.view.Load()
	if d := time.Until(v.ej[0].until); d < 20*time.Millisecond {
		t.Errorf("second ejection ends in %v, want about 40ms: twice the first", d)
	}

	probe = waitProbe(t, o, addrs)
	o.succeeded(probe)
	if skip, p := o.skip(addrs, nil); skip != nil || p != "" {
		t.Errorf("skip after a successful probe = %v, %q, want nothing skipped", skip, p)
	}
}

// waitProbe waits for the ejected address's probe and returns it.
func waitProbe(t *testing.T, o *outliers, addrs []string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, probe := o.skip(addrs, nil); probe != "" {
			return probe
		}
		if time.Now().After(deadline) {
			t.Fatal("no probe 10s after a short ejection")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkPick measures the hot path: choosing an address for an attempt, with no address
// failing (the common case) and with one of three ejected.
func BenchmarkPick(b *testing.B) {
	ep := discovery.Endpoint{Source: discovery.SourceDNS, Addrs: []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}}
	for _, ejected := range []bool{false, true} {
		name := map[bool]string{false: "healthy", true: "one_ejected"}[ejected]
		b.Run(name, func(b *testing.B) {
			c := New(Config{EjectAfter: 1, EjectFor: time.Hour}, Deps{Resolver: fixedResolver(ep)})
			if ejected {
				c.outliers.failed(ep.Addrs[0], ep.Addrs)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var i uint64
				for pb.Next() {
					a := c.pick(ep, i)
					c.outliers.succeeded(a)
					i++
				}
			})
		})
	}
}
