// Command backend answers with the identity of the pod that served the request, so a caller can
// see which replica behind backend-service it reached.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/svc2svc/svc2svc/services/backend/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, the next one gets Go's default action and ends the process at
	// once: Ctrl-C twice, or a second SIGTERM, skips the drain.
	context.AfterFunc(ctx, stop)
	if err := app.Run(ctx, os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
