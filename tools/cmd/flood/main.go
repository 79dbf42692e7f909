// Command flood is a hostile client for the e2e: it opens FLOOD_IDLE idle keep-alive
// connections (one GET each, then nothing) and FLOOD_SLOW slowloris ones (a request line and
// headers trickled every FLOOD_TRICKLE, never finished) to FLOOD_ADDR, holds them until
// FLOOD_HOLD has passed since the start, and prints what became of them as one JSON line:
// how many opened, were answered, were closed by the server, and failed. It proves that a
// server capped on connections (httpserver's MAX_CONNS) survives what would otherwise
// exhaust its memory.
//
//	FLOOD_ADDR=10.10.0.2:30080 go run ./tools/cmd/flood
//
// A few workers open the connections and one goroutine trickles, so the client itself stays
// small: tens of thousands of connections cost it file descriptors, not goroutines.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

func main() {
	// No name before the error: config's names each bad variable on a line of its own.
	cli.Main("", func(ctx context.Context) error {
		return run(ctx, os.Environ(), os.Stdout)
	})
}

// settings are flood's knobs.
type settings struct {
	// Addr is the host:port to flood.
	Addr string `env:"FLOOD_ADDR,required"`
	// Idle is the number of idle keep-alive connections.
	Idle int `env:"FLOOD_IDLE" envDefault:"10000" min:"0" max:"100000"`
	// Slow is the number of slowloris connections.
	Slow int `env:"FLOOD_SLOW" envDefault:"2000" min:"0" max:"100000"`
	// Hold is how long after the start the connections are held before counting.
	Hold time.Duration `env:"FLOOD_HOLD" envDefault:"30s" min:"1s" max:"10m"`
	// Trickle is how often each slowloris connection sends one more header line.
	Trickle time.Duration `env:"FLOOD_TRICKLE" envDefault:"1s" min:"10ms" max:"1m"`
	// Workers is how many connections are being opened at a time.
	Workers int `env:"FLOOD_WORKERS" envDefault:"64" min:"1" max:"1024"`
}

// report is what flood prints at the end.
type report struct {
	Addr           string  `json:"addr"`
	IdleOpened     int     `json:"idle_opened"`
	IdleAnswered   int64   `json:"idle_answered"`
	SlowOpened     int     `json:"slow_opened"`
	ClosedByServer int     `json:"closed_by_server"`
	StillOpen      int     `json:"still_open"`
	DialErrors     int64   `json:"dial_errors"`
	LastDialError  string  `json:"last_dial_error,omitempty"`
	OpenSeconds    float64 `json:"open_seconds"`
	HeldSeconds    float64 `json:"held_seconds"`
}

func run(ctx context.Context, environ []string, stdout io.Writer) error {
	s, err := config.Parse[settings](environ)
	if err != nil {
		return err
	}
	start := time.Now()
	f := &flood{s: s}
	f.open(ctx)
	opened := time.Since(start)
	fmt.Fprintf(stdout, "flood: opened %d idle (%d answered) and %d slowloris connections to %s in %s\n",
		len(f.idle), f.answered.Load(), len(f.slow), s.Addr, opened.Round(time.Millisecond))

	trickleDone := make(chan struct{})
	holdCtx, cancel := context.WithDeadline(ctx, start.Add(s.Hold))
	defer cancel()
	go func() { defer close(trickleDone); f.trickle(holdCtx) }()
	<-holdCtx.Done()
	<-trickleDone

	closed, open := f.count()
	rep := report{
		Addr: s.Addr, IdleOpened: len(f.idle), IdleAnswered: f.answered.Load(), SlowOpened: len(f.slow),
		ClosedByServer: closed, StillOpen: open, DialErrors: f.dialErrs.Load(),
		OpenSeconds: opened.Seconds(), HeldSeconds: time.Since(start).Seconds(),
	}
	if e, ok := f.lastDialErr.Load().(string); ok {
		rep.LastDialError = e
	}
	return json.NewEncoder(stdout).Encode(rep)
}

// flood holds the connections it opened.
type flood struct {
	s           settings
	mu          sync.Mutex
	idle, slow  []net.Conn
	answered    atomic.Int64
	dialErrs    atomic.Int64
	lastDialErr atomic.Value
}

// open opens every connection, Workers at a time; the first connections of a kind are the
// ones a capped server sheds first.
func (f *flood) open(ctx context.Context) {
	jobs := make(chan bool)
	var wg sync.WaitGroup
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	for range f.s.Workers {
		wg.Go(func() {
			for slow := range jobs {
				conn, err := dialer.DialContext(ctx, "tcp", f.s.Addr)
				if err != nil {
					f.dialErrs.Add(1)
					f.lastDialErr.Store(err.Error())
					continue
				}
				if slow {
					_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: flood\r\nUser-Agent: flood\r\n")
					f.mu.Lock()
					f.slow = append(f.slow, conn)
					f.mu.Unlock()
					continue
				}
				_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: flood\r\nUser-Agent: flood\r\n\r\n")
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					f.answered.Add(1)
				}
				f.mu.Lock()
				f.idle = append(f.idle, conn)
				f.mu.Unlock()
			}
		})
	}
	total := f.s.Idle + f.s.Slow
	for i := range total {
		// Interleaved, so both kinds arrive throughout the flood.
		slow := f.s.Slow > 0 && i%(total/f.s.Slow) == 0 && i/(total/f.s.Slow) < f.s.Slow
		select {
		case jobs <- slow:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
}

// trickle sends one more header line on every slowloris connection each Trickle until ctx
// is done, as a slowloris client does to stay just inside a naive idle timeout.
func (f *flood) trickle(ctx context.Context) {
	t := time.NewTicker(f.s.Trickle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range f.slow {
			_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
			_, _ = io.WriteString(c, "X-Slow: 1\r\n")
		}
	}
}

// count closes every connection, counting those the server had closed: a read that fails at
// once with anything but a timeout (EOF, a reset) means the server let go of it.
func (f *flood) count() (closed, open int) {
	for _, c := range append(f.idle, f.slow...) {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			closed++
		} else {
			open++
		}
		_ = c.Close()
	}
	return closed, open
}
