// Command frontend calls the backend through discovery and shows which pod answered, how it was
// found, how long it took and the trace id. "frontend call" calls the backend once and exits.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/svc2svc/svc2svc/services/frontend/app"
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
