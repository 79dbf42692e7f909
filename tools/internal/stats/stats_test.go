package stats

import (
	"fmt"
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	t.Parallel()
	type round struct{ rps float64 }
	tests := []struct {
		rps  []float64
		want float64
	}{
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{900, 100, 1000, 200, 950}, 900},
		{[]float64{1, 2}, 2},            // even: the upper middle
		{[]float64{40, 10, 30, 20}, 30}, // even: the upper middle, not 25
		{[]float64{5, 5, 1, 5}, 5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rps), func(t *testing.T) {
			t.Parallel()
			rounds := make([]round, len(tt.rps))
			for i, v := range tt.rps {
				rounds[i] = round{v}
			}
			before := slices.Clone(rounds)
			if got := Median(rounds, func(r round) float64 { return r.rps }); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.rps, got, tt.want)
			}
			if !slices.Equal(rounds, before) {
				t.Errorf("Median(%v) reordered its argument to %v", tt.rps, rounds)
			}
		})
	}
}

func ExampleMedian() {
	type round struct{ p99ms float64 }
	rounds := []round{{12.5}, {80}, {11.9}, {13.1}}
	fmt.Println(Median(rounds, func(r round) float64 { return r.p99ms }))
	// Output: 13.1
}
