// Package stats summarises repeated measurements for the tools' benchmark tables, so that one
// disturbed round does not decide a result.
package stats

import "slices"

// Median returns the median of value over xs, which must not be empty. For an even number of
// values it is the upper of the two middle ones, not their mean, so the result is always a
// value that was measured. xs is left as it was.
func Median[T any](xs []T, value func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = value(x)
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}
