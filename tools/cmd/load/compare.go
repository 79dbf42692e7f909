package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/svc2svc/svc2svc/tools/internal/localpair"
	"github.com/svc2svc/svc2svc/tools/internal/stats"
)

// The goals of the comparison: the frontend is one Go hop like a bare ReverseProxy, plus
// discovery, retries, tracing, logs and a JSON answer, and should cost little more.
const (
	goalThroughput = 0.9  // frontend throughput at least this times the proxy's
	goalP99        = 0.10 // frontend p99 at most this much above the proxy's
	// goalTLS is the HTTPS (and mutual TLS) pair's throughput at least this times the plain
	// pair's: with keep-alive, TLS costs record encryption, not a handshake per call.
	goalTLS = 0.8
)

// hop is one of the compared targets.
type hop struct {
	name string
	url  string
}

// Comparison is the JSON -bench-compare writes.
type Comparison struct {
	Machine string              `json:"machine"`
	Load    string              `json:"load"`
	Rows    []ComparisonRow     `json:"rows"`
	Rounds  map[string][]Report `json:"rounds"`
}

// ComparisonRow is one target's medians over the rounds.
type ComparisonRow struct {
	Name       string  `json:"name"`
	Throughput float64 `json:"throughput"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	Errors     int     `json:"errors"`
}

// benchCompare runs the backend alone, the frontend in front of it and an
// httputil.ReverseProxy in front of it, one after the other at the same rate, in rounds whose
// order rotates so that no target always runs first (on a warm or a cold machine), and prints
// the medians. All three and the load generator share this machine's CPUs: on a small machine
// the generator's own cost is part of every number, which narrows the differences.
func benchCompare(ctx context.Context, o options, environ []string, logs, stdout io.Writer) error {
	pairCtx, stopPair := context.WithCancel(ctx)
	defer stopPair()
	var pairs []*localpair.Pair
	defer func() {
		stopPair()
		for _, p := range pairs {
			_ = p.Wait()
		}
	}()
	startPair := func(mode localpair.TLS) (*localpair.Pair, error) {
		pair, err := localpair.Start(pairCtx, localpair.Config{
			Replicas: 1,
			Environ:  append(localpair.Inherit(environ), o.pairEnv...),
			TLS:      mode,
			Stdout:   logs,
		})
		if err != nil {
			return nil, fmt.Errorf("start the local pair: %w", err)
		}
		pairs = append(pairs, pair)
		return pair, nil
	}
	pair, err := startPair(localpair.TLSOff)
	if err != nil {
		return err
	}
	backendURL := "http://" + pair.BackendAddrs[0]
	proxyURL, stopProxy, err := startProxy(backendURL)
	if err != nil {
		return err
	}
	defer stopProxy()

	hops := []hop{
		{"(1) backend", backendURL + o.path},
		{"(2) frontend -> backend", pair.FrontendURL + o.path},
		{"(3) ReverseProxy -> backend", proxyURL + o.path},
	}
	if o.tls {
		// Two more pairs: the backend serving HTTPS, then requiring the frontend's
		// certificate too; the frontend calls each over HTTPS (certificates from localpair).
		httpsPair, err := startPair(localpair.TLSOn)
		if err != nil {
			return err
		}
		mtlsPair, err := startPair(localpair.TLSMutual)
		if err != nil {
			return err
		}
		hops = append(hops,
			hop{"(4) frontend -> HTTPS backend", httpsPair.FrontendURL + o.path},
			hop{"(5) frontend -> mTLS backend", mtlsPair.FrontendURL + o.path})
	}
	load := fmt.Sprintf("%d/s", o.rate)
	if o.rate == 0 {
		load = fmt.Sprintf("max rate, %d concurrent requests", o.maxWorkers)
	}
	load = fmt.Sprintf("%s, %v per target after %v of warm-up, %d round(s), medians", load, o.duration, o.warmup, o.rounds)
	fmt.Fprintf(stdout, "machine  %s\nload     %s\n\n", machine(), load)

	cmpRep := Comparison{Machine: machine(), Load: load, Rounds: map[string][]Report{}}
	for round := range o.rounds {
		for i := range hops {
			h := hops[(i+round)%len(hops)]
			spec := attackSpec{name: h.name, url: h.url, rate: o.rate, timeout: o.timeout,
				workers: o.workers, maxWorkers: o.maxWorkers, maxRequests: o.maxRequests}
			if o.rate == 0 {
				spec.workers = o.maxWorkers
			}
			if o.warmup > 0 {
				spec.duration = o.warmup
				if _, err := attack(ctx, spec); err != nil {
					return err
				}
			}
			spec.duration = o.duration
			rep, err := attack(ctx, spec)
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w", context.Cause(ctx))
			}
			rep.Title, rep.Target, rep.Timeline = h.name, h.url, Timeline{}
			fmt.Fprintf(stdout, "round %d  %-28s %9.0f/s  p50 %-9s p99 %-9s errors %d\n",
				round+1, h.name, rep.Throughput, fmtMS(rep.Latency.P50), fmtMS(rep.Latency.P99), rep.Failed())
			cmpRep.Rounds[h.name] = append(cmpRep.Rounds[h.name], *rep)
		}
	}

	fmt.Fprintf(stdout, "\n%-28s %12s %10s %10s %10s %8s\n", "target", "throughput", "p50", "p99", "max", "errors")
	var errs []error
	for _, h := range hops {
		row := median(h.name, cmpRep.Rounds[h.name])
		cmpRep.Rows = append(cmpRep.Rows, row)
		fmt.Fprintf(stdout, "%-28s %10.0f/s %10s %10s %10s %8d\n", row.Name, row.Throughput, fmtMS(row.P50), fmtMS(row.P99), fmtMS(row.Max), row.Errors)
		if row.Errors > o.maxErrors {
			errs = append(errs, fmt.Errorf("%s: %d failed requests, more than -max-errors %d", h.name, row.Errors, o.maxErrors))
		}
	}
	fe, rp := cmpRep.Rows[1], cmpRep.Rows[2]
	ratio, extra := fe.Throughput/rp.Throughput, fe.P99/rp.P99-1
	fmt.Fprintf(stdout, "\nfrontend vs ReverseProxy: throughput %.2fx (goal >= %.2fx: %s), p99 %+.1f%% (goal <= +%.0f%%: %s)\n",
		ratio, goalThroughput, met(ratio >= goalThroughput), 100*extra, 100*goalP99, met(extra <= goalP99))
	if o.tls {
		for _, row := range cmpRep.Rows[3:] {
			r := row.Throughput / fe.Throughput
			fmt.Fprintf(stdout, "%s vs (2): throughput %.2fx (goal >= %.2fx: %s), p99 %+.1f%%\n",
				row.Name, r, goalTLS, met(r >= goalTLS), 100*(row.P99/fe.P99-1))
		}
	}
	if o.jsonOut != "" {
		if err := writeFile(o.jsonOut, func(w io.Writer) error { return writeJSON(w, cmpRep) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// median summarises a target's rounds by the median of each measure, so one disturbed round
// does not decide the result.
func median(name string, reps []Report) ComparisonRow {
	row := ComparisonRow{
		Name:       name,
		Throughput: stats.Median(reps, func(r Report) float64 { return r.Throughput }),
		P50:        stats.Median(reps, func(r Report) float64 { return r.Latency.P50 }),
		P99:        stats.Median(reps, func(r Report) float64 { return r.Latency.P99 }),
		Max:        stats.Median(reps, func(r Report) float64 { return r.Latency.Max }),
	}
	for _, r := range reps {
		row.Errors += r.Failed()
	}
	return row
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// startProxy serves a plain httputil.ReverseProxy to backend on a loopback port: the
// reference for the cost of one Go hop. Its transport pools connections like the frontend's
// client does (64 idle per host rather than net/http's 2), so the comparison is between the
// hops and not between connection pools.
func startProxy(backend string) (string, func(), error) {
	target, err := url.Parse(backend)
	if err != nil {
		return "", nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost, tr.MaxIdleConns = 64, 256
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		tr.CloseIdleConnections()
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// machine describes where the numbers come from: CPUs, CPU model and Go version.
func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s, %s %s/%s",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), cmp.Or(model, "unknown CPU"), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
