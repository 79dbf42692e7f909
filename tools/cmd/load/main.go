// Command load drives the frontend at a constant rate for a duration, with vegeta's attack
// library, and reports what a user of the frontend saw: the success ratio and every non-2xx
// answer, latency percentiles, and how many requests each backend pod answered (it asks GET /
// with Accept: application/json and counts the answers' backend.pod). It can write the results
// as JSON and as an HTML plot of latency and errors over time, on which the moments of injected
// events are marked: -event 20s='kubectl delete pod ...' runs the command at that offset, and
// -mark and -marks-stdin mark moments chosen outside.
//
// Without -target it starts the local pair in-process (three backends, a loopback DNS server
// and the frontend, as `make run` does) and drives that; `make load` does so. The e2e drives
// the cluster's frontend with -target http://10.10.0.2:30080.
//
// It exits 1 when more requests failed than -max-errors (default 0), so one error fails the
// e2e. With -bench-compare it instead compares, side by side at the same rate, the backend
// alone, the frontend in front of it and a plain httputil.ReverseProxy in front of it (the
// cost of one Go hop), and prints a table; -tls adds the frontend calling an HTTPS backend and
// a mutual TLS one (certificates from pkg/tlstest in a temporary directory), each set against
// the plain frontend -> backend row.
package main

import (
	"context"
	"os"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

func main() {
	cli.Main("load", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	})
}
