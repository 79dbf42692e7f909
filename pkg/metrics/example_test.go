package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/metrics"
)

// Example wires a registry into a server: the server records its requests and serves them
// at /metrics on its admin port (AdminHandler here, for httptest).
func Example() {
	reg := metrics.NewRegistry()
	srv := httpserver.New(httpserver.Config{}, httpserver.Deps{
		Observer:       metrics.NewHTTPServer(reg),
		MetricsHandler: metrics.Handler(reg),
	}, func(r chi.Router) {
		r.Get("/items/{id}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "an item") })
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	admin := httptest.NewServer(srv.AdminHandler())
	defer admin.Close()

	for _, path := range []string{"/items/1", "/items/2", "/nope"} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		res.Body.Close()
	}
	res, err := http.Get(admin.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "http_server_requests_total") {
			fmt.Print(line)
		}
	}
	// Output:
	// http_server_requests_total{method="GET",route="",status="404"} 1
	// http_server_requests_total{method="GET",route="/items/{id}",status="200"} 2
}
