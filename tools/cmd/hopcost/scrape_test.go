package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const metricsText = `# HELP http_server_requests_total Inbound HTTP requests.
# TYPE http_server_requests_total counter
http_server_requests_total{method="GET",route="/",status="200"} 98765
http_server_requests_total{method="GET",route="",status="404"} 3
# HELP http_server_tls_handshakes_total TLS handshakes begun.
# TYPE http_server_tls_handshakes_total counter
http_server_tls_handshakes_total 66
# HELP http_server_tls_refused_total Clients refused.
# TYPE http_server_tls_refused_total counter
http_server_tls_refused_total{reason="untrusted"} 2
`

func TestParseCounts(t *testing.T) {
	t.Parallel()
	got, err := parseCounts(strings.NewReader(metricsText))
	if want := (tlsCounts{handshakes: 66, requests: 98768}); err != nil || got != want {
		t.Errorf("parseCounts = %+v, %v, want %+v", got, err, want)
	}
	noCounter := "# TYPE http_server_requests_total counter\nhttp_server_requests_total{route=\"/\"} 5\n"
	if _, err := parseCounts(strings.NewReader(noCounter)); err == nil {
		t.Error("parseCounts without the handshake counter = nil error, want one")
	}
	if _, err := parseCounts(strings.NewReader("not the text format {\n")); err == nil {
		t.Error("parseCounts of garbage = nil error, want one")
	}
}

func TestScrapeCounts(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(metricsText))
	}))
	t.Cleanup(ts.Close)
	got, err := scrapeCounts(t.Context(), ts.URL)
	if want := (tlsCounts{handshakes: 66, requests: 98768}); err != nil || got != want {
		t.Errorf("scrapeCounts = %+v, %v, want %+v", got, err, want)
	}
	if _, err := scrapeCounts(t.Context(), ts.URL+"\x7f"); err == nil {
		t.Error("scrapeCounts of a bad URL = nil error, want one")
	}
}

func TestTLSCounts(t *testing.T) {
	t.Parallel()
	before, after := tlsCounts{handshakes: 64, requests: 1000}, tlsCounts{handshakes: 66, requests: 21000}
	grown := after.minus(before)
	if want := (tlsCounts{handshakes: 2, requests: 20000}); grown != want {
		t.Errorf("minus = %+v, want %+v", grown, want)
	}
	if got, want := grown.plus(grown).String(), "handshakes/req 0.00010 (4 handshakes, 40000 backend requests)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := (tlsCounts{}).String(), "handshakes/req 0.00000 (0 handshakes, 0 backend requests)"; got != want {
		t.Errorf("String() of nothing = %q, want %q", got, want)
	}
}
