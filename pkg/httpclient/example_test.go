package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
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

// A caller turns a failed call into its own answer from the Error's Outcome, which the client
// decided where the failure happened; errors.Is with the sentinels matches the same kinds.
func ExampleError() {
	// A port nothing listens on: every connect is refused, as at a Service with no ready pods.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	resolver := staticResolver{Source: discovery.SourceDNS, Name: "backend-service", Addrs: []string{closed}}
	client := httpclient.New(httpclient.Config{}, httpclient.Deps{Resolver: resolver})
	defer client.CloseIdleConnections()

	_, err = client.Get(context.Background(), "/")
	var e *httpclient.Error
	if errors.As(err, &e) {
		fmt.Println(e.Outcome, e.Attempts, errors.Is(err, httpclient.ErrUnavailable))
	}
	// Output: unavailable 3 true
}
