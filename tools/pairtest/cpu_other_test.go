//go:build !unix

package pairtest_test

import "time"

// cpuTime is not measured on this platform; the benchmarks then report 0 cpu-ns/op.
func cpuTime() time.Duration { return 0 }
