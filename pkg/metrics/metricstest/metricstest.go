// Package metricstest scrapes a /metrics endpoint in a test and reads values out of it, so
// tests can assert that a counter moved by exactly N after N requests. It parses the
// Prometheus text format with prometheus/common/expfmt, the parser Prometheus itself
// shares, so what a test reads is what a scraper would.
package metricstest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Snapshot is one scrape: the metric families by name.
type Snapshot map[string]*dto.MetricFamily

// Scrape GETs url (a service's /metrics) and parses the answer, failing the test if it is
// not a 200 in the Prometheus text format.
func Scrape(t testing.TB, url string) Snapshot {
	t.Helper()
	// Plain text only: without this Accept header a newer library could negotiate another format.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("scrape %s = %d %s, want 200", url, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape %s Content-Type = %q, want the text/plain exposition format", url, ct)
	}
	snap, err := Parse(res.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return snap
}

// Parse reads the Prometheus text format.
func Parse(r io.Reader) (Snapshot, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return families, nil
}

// Has reports whether the scrape holds the metric family name.
func (s Snapshot) Has(name string) bool {
	_, ok := s[name]
	return ok
}

// Value returns the sum over the series of the metric family name whose labels include
// labels (name-value pairs: "route", "/", "status", "200"); other labels may take any value.
// A counter or gauge gives its value, a histogram or summary its sample count. A family or
// series that does not exist gives 0, as a counter not yet incremented would.
func (s Snapshot) Value(name string, labels ...string) float64 {
	if len(labels)%2 != 0 {
		panic("metricstest: Value needs label name-value pairs")
	}
	mf, ok := s[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, m := range mf.GetMetric() {
		if matches(m, labels) {
			sum += value(m)
		}
	}
	return sum
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}
