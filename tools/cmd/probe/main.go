// Command probe knocks on the frontend's front door the way a careless or hostile client
// would and prints, one line per probe, what it saw beside what a hardened server should do:
// idle keep-alive connections, slowloris headers, many large /api/spread calls at once, large
// and chunked bodies, HEAD, repeated query parameters, a huge X-Request-Id, the security
// headers and /metrics on the main port (docs/operations.md#security has the table).
//
// Without -target it starts the local pair in-process (three backends, a loopback DNS server
// and the frontend, as `make run` does) and probes that; `make probes` does so. With -target
// it probes that frontend instead (the lab's http://10.10.0.2:30080, say); aim it only at
// servers you run.
//
// A mismatch is reported, not fatal: the run exits 0 so it can show today's behaviour while
// the fixes land. -strict makes any mismatch exit 1.
package main

import (
	"context"
	"os"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

func main() {
	cli.Main("probe", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}
