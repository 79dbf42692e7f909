package app

import (
	"context"
	"fmt"
	"io"

	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// callOnce is the one-shot mode ("frontend call"): one call to the backend, printed the way
// GET / prints it for curl. A failure is printed too and returned, so the process exits 1 and a
// Kubernetes Job retries or fails visibly.
func callOnce(ctx context.Context, backend *backendCaller, tel *telemetry.Telemetry, stdout io.Writer) error {
	ctx, span := tel.TracerProvider.Tracer("github.com/svc2svc/svc2svc/services/frontend").Start(ctx, "frontend call")
	defer span.End()
	view, err := backend.call(ctx, false)
	if err != nil {
		f := failure(err, view)
		writeFailureText(stdout, f)
		return fmt.Errorf("call backend: %w", err)
	}
	writeCallText(stdout, view)
	return nil
}
