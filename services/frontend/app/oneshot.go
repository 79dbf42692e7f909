package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/svc2svc/svc2svc/pkg/httpclient"
	"github.com/svc2svc/svc2svc/pkg/telemetry"
)

// callRetryInterval paces the one-shot mode's retries: short enough to catch a policy that
// lands a second later, long enough not to spin.
const callRetryInterval = 500 * time.Millisecond

// callOnce is the one-shot mode ("frontend call"): one call to the backend, printed the way
// GET / prints it for curl. While nothing accepts the connection or no address is found it
// tries again, for at most wait; any other failure is final at once. A failure is printed
// too and returned, so the process exits 1 and a Kubernetes Job retries or fails visibly.
func callOnce(ctx context.Context, backend *backendCaller, tel *telemetry.Telemetry, wait time.Duration, logger *slog.Logger, stdout io.Writer) error {
	ctx, span := tel.TracerProvider.Tracer("github.com/svc2svc/svc2svc/services/frontend").Start(ctx, "frontend call")
	defer span.End()
	var (
		view  callView
		err   error
		tries int
	)
	backoff := retry.WithMaxDuration(wait, retry.NewConstant(callRetryInterval))
	_ = retry.Do(ctx, backoff, func(ctx context.Context) error {
		tries++
		view, err = backend.call(ctx, false)
		if errors.Is(err, httpclient.ErrUnavailable) || errors.Is(err, httpclient.ErrNoEndpoint) {
			logger.Warn("backend not reachable yet, will retry", "try", tries, "error", err)
			return retry.RetryableError(err)
		}
		return err
	})
	if err != nil {
		f := failure(err, view)
		writeFailureText(stdout, f)
		return fmt.Errorf("call backend (%d tries): %w", tries, err)
	}
	writeCallText(stdout, view)
	return nil
}
