// Command tracedump is a trace receiver for the local run: it takes what the services export
// over OTLP/HTTP and prints each trace as a span tree, so a request can be followed from the
// frontend through every attempt to the backend pod that answered, without a collector or
// Jaeger. Ctrl-C stops it.
//
//	go run ./tools/cmd/tracedump        # listens on 127.0.0.1:4318
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_BSP_SCHEDULE_DELAY=200 make run
//
// Spans arrive in batches, each service's on its own schedule (OTEL_BSP_SCHEDULE_DELAY,
// 5s by default), so a trace is printed once none of its spans has arrived for
// TRACEDUMP_SETTLE (2s), and printed again, marked "updated", if more come later.
// TRACEDUMP_ADDR changes the address (127.0.0.1:4318).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/otlptest"
	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

func main() {
	// No name before the error: config's names each bad variable on a line of its own.
	cli.Main("", func(ctx context.Context) error {
		return run(ctx, os.Environ(), os.Stdout)
	})
}

// settings are tracedump's knobs.
type settings struct {
	// Addr is where to listen; 4318 is the OTLP/HTTP port, so the usual endpoint works.
	Addr string `env:"TRACEDUMP_ADDR" envDefault:"127.0.0.1:4318"`
	// Settle is how long a trace must stay quiet before it is printed.
	Settle time.Duration `env:"TRACEDUMP_SETTLE" envDefault:"2s"`
}

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	s, err := config.Parse[settings](environ)
	if err != nil {
		return err
	}
	rcv, err := otlptest.Start(s.Addr)
	if err != nil {
		return err
	}
	defer rcv.Close()
	fmt.Fprintf(stdout, "tracedump: receiving OTLP/HTTP traces; export with OTEL_EXPORTER_OTLP_ENDPOINT=%s\n", rcv.URL())

	printed := map[string]int{} // trace id -> spans printed
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rcv.Updated():
			settle.Reset(s.Settle)
		case <-settle.C:
			printTraces(stdout, rcv.Spans(), printed)
		}
	}
}

// printTraces writes the tree of every trace that has spans not yet printed, oldest trace first.
func printTraces(w io.Writer, spans []otlptest.Span, printed map[string]int) {
	byTrace := map[string][]otlptest.Span{}
	var order []string
	for _, s := range spans {
		if _, ok := byTrace[s.TraceID]; !ok {
			order = append(order, s.TraceID)
		}
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	first := func(id string) time.Time {
		return slices.MinFunc(byTrace[id], func(a, b otlptest.Span) int { return a.Start.Compare(b.Start) }).Start
	}
	slices.SortStableFunc(order, func(a, b string) int { return first(a).Compare(first(b)) })
	for _, id := range order {
		n := len(byTrace[id])
		if printed[id] == n {
			continue
		}
		updated := ""
		if printed[id] > 0 {
			updated = ", updated"
		}
		printed[id] = n
		fmt.Fprintf(w, "\ntrace %s (%d spans%s)\n%s", id, n, updated, otlptest.Tree(byTrace[id]))
	}
}
