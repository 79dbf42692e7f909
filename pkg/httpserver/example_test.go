package httpserver_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// ExampleServer_Handler serves a service's routes through the full middleware stack with
// httptest, the way handler tests do; in production Run serves the same handler.
func ExampleServer_Handler() {
	cfg, err := config.Parse[httpserver.Config](nil) // the defaults, as from an empty environment
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httpserver.New(cfg, httpserver.Deps{}, func(r chi.Router) {
		r.Get("/hello/{name}", func(w http.ResponseWriter, r *http.Request) {
			httpserver.WriteJSON(w, http.StatusOK, map[string]string{"hello": chi.URLParam(r, "name")})
		})
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	for _, path := range []string{"/hello/gopher", "/healthz", "/missing"} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("%s %d %s", path, res.StatusCode, body)
	}
	// Output:
	// /hello/gopher 200 {"hello":"gopher"}
	// /healthz 200 {"status":"ok"}
	// /missing 404 {"error":"not found","status":404}
}

// ExampleQuery reads a handler's query parameters strictly: each known name at most once, no
// unknown names, and the error's text answered to the client as it is.
func ExampleQuery() {
	for _, target := range []string{"/search?q=go", "/search?q=go&q=rust", "/search?q=go&limt=5"} {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		q, err := httpserver.Query(r, "q", "limit")
		if err != nil {
			fmt.Println(http.StatusBadRequest, err)
			continue
		}
		fmt.Println(http.StatusOK, q["q"])
	}
	// Output:
	// 200 go
	// 400 query parameter "q" given 2 times: want it once
	// 400 unknown query parameter "limt": want q, limit
}
