package service_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/service"
)

// greeterConfig is a whole service's configuration: the shared part and one variable.
type greeterConfig struct {
	service.Config
	Greeting string `env:"GREETING" envDefault:"hello"`
}

// runGreeter is a whole service: its name, its Config and its one route.
func runGreeter(ctx context.Context, environ []string, stdout io.Writer, opts ...service.Option) error {
	return service.Run(ctx, "greeter", environ, stdout, func(ctx context.Context, p *service.Process, cfg greeterConfig) error {
		return p.Serve(ctx, func(r chi.Router) {
			r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, cfg.Greeting) })
		})
	}, opts...)
}

// ExampleRun starts a third service on a free loopback port, learns the port from the
// OnListen hook, calls it and stops it the way SIGTERM would.
func ExampleRun() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	listening := make(chan string, 1)
	done := make(chan error, 1)
	environ := []string{"LISTEN_HOST=127.0.0.1", "PORT=0", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "GREETING=hi"}
	go func() {
		done <- runGreeter(ctx, environ, io.Discard, service.OnListen(func(addr string) { listening <- addr }))
	}()

	res, err := http.Get("http://" + <-listening + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.Status, string(body))

	stop()
	fmt.Println(<-done)

	fmt.Println(runGreeter(context.Background(), []string{"PORT=http", "READ_TIMEOUT=0"}, io.Discard))
	// Output:
	// 200 OK hi
	// <nil>
	// invalid configuration:
	//   PORT: invalid integer "http"
	//   READ_TIMEOUT: must be between 1ms and 10m, got 0s
}
