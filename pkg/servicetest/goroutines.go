package servicetest

import (
	"runtime"
	"testing"
	"time"
)

// WaitGoroutines fails the test unless the process's goroutine count comes back to at most
// base (taken with runtime.NumGoroutine before the test started its servers and clients).
// Connections and servers close asynchronously, so it polls rather than checking once; the
// limit only guards against a hang. Tests that use it must not run in parallel with others.
func WaitGoroutines(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(startupLimit)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("NumGoroutine() = %d, want at most %d (the count before the test)\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
