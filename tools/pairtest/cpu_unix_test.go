//go:build unix

package pairtest_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used so far, which on a machine
// with few cores says more about a hop's cost than its latency does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
