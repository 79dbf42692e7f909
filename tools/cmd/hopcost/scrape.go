package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/svc2svc/svc2svc/pkg/metrics/metricstest"
)

// The backend's counters that give handshakes per request.
const (
	handshakesMetric = "http_server_tls_handshakes_total"
	requestsMetric   = "http_server_requests_total"
)

// tlsCounts are a TLS backend's handshakes and requests: totals from one scrape, or the
// growth between two.
type tlsCounts struct {
	handshakes, requests float64
}

func (c tlsCounts) minus(o tlsCounts) tlsCounts {
	return tlsCounts{c.handshakes - o.handshakes, c.requests - o.requests}
}

func (c tlsCounts) plus(o tlsCounts) tlsCounts {
	return tlsCounts{c.handshakes + o.handshakes, c.requests + o.requests}
}

// String gives the handshakes per request and the counts it comes from.
func (c tlsCounts) String() string {
	perRequest := 0.0
	if c.requests > 0 {
		perRequest = c.handshakes / c.requests
	}
	return fmt.Sprintf("handshakes/req %.5f (%.0f handshakes, %.0f backend requests)", perRequest, c.handshakes, c.requests)
}

// scrapeCounts reads the handshake and request counters from a service's /metrics.
func scrapeCounts(ctx context.Context, url string) (tlsCounts, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return tlsCounts{}, err
	}
	// The text format, whatever a newer client library would negotiate otherwise.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return tlsCounts{}, fmt.Errorf("scrape: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, res.Body)
		return tlsCounts{}, fmt.Errorf("scrape %s: status %d", url, res.StatusCode)
	}
	return parseCounts(res.Body)
}

// parseCounts reads the handshake and request counters, each summed over its series, from
// the Prometheus text format. A missing handshake counter is an error (a backend built before
// it), not a zero.
func parseCounts(r io.Reader) (tlsCounts, error) {
	snap, err := metricstest.Parse(r)
	if err != nil {
		return tlsCounts{}, err
	}
	if !snap.Has(handshakesMetric) {
		return tlsCounts{}, fmt.Errorf("no %s in the scrape (make build?)", handshakesMetric)
	}
	return tlsCounts{handshakes: snap.Value(handshakesMetric), requests: snap.Value(requestsMetric)}, nil
}
