package httpclient_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// staticResolver always answers with the same endpoint, as discovery would for a service
// whose pods do not change.
type staticResolver discovery.Endpoint

func (r staticResolver) Resolve(context.Context) (discovery.Endpoint, error) {
	return discovery.Endpoint(r), nil
}

func ExampleClient_Get() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "this call was answered by the backend")
	}))
	defer backend.Close()

	resolver := staticResolver{
		Source: discovery.SourceDNS,
		Name:   "backend-service.default.svc.cluster.local.",
		Addrs:  []string{backend.Listener.Addr().String()},
	}
	// A zero Config means the defaults: 3s per call, 1s per attempt, 3 attempts.
	client := httpclient.New(httpclient.Config{}, httpclient.Deps{Resolver: resolver})
	defer client.CloseIdleConnections()

	res, err := client.Get(context.Background(), "/")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d via %s: %s", res.Status, res.Endpoint.Source, res.Body)
	// Output: 200 via dns: this call was answered by the backend
}
