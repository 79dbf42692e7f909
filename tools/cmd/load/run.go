package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
)

// options are the command line.
type options struct {
	target      string
	path        string
	rate        int
	duration    time.Duration
	timeout     time.Duration
	workers     uint64
	maxWorkers  uint64
	maxRequests uint64
	maxErrors   int
	jsonOut     string
	plotOut     string
	title       string

	events       []scheduled
	marksStdin   bool
	eventTimeout time.Duration

	pairEnv []string
	pairLog string

	resolve resolveFlag
	caFile  string

	benchCompare bool
	tls          bool
	rounds       int
	warmup       time.Duration
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{resolve: resolveFlag{}}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: load [flags]\n\n"+
			"Drives the frontend (GET <path>, Accept: application/json) at -rate for -duration and reports\n"+
			"success, latency and the answers per backend pod. Without -target it starts the local pair.\n"+
			"With -bench-compare it compares backend, frontend -> backend and a ReverseProxy -> backend.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.target, "target", "", "frontend base URL, e.g. http://10.10.0.2:30080; empty: start the local pair in-process")
	fs.StringVar(&o.path, "path", "/", "path to request")
	fs.Var(o.resolve, "resolve", "connect to ADDR for HOST:PORT, keeping HOST for TLS and Host, as curl's: `HOST:PORT:ADDR` (repeatable)")
	fs.StringVar(&o.caFile, "cacert", "", "check the target's TLS certificate against the CA certificates in this PEM `file`, as curl's")
	fs.IntVar(&o.rate, "rate", 50, "requests per second; 0: as fast as -max-workers allow")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send requests")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "bound on each request")
	fs.Uint64Var(&o.workers, "workers", 10, "workers to start with (more are added to hold the rate)")
	fs.Uint64Var(&o.maxWorkers, "max-workers", 512, "bound on concurrent requests; with -rate 0, the concurrency")
	fs.Uint64Var(&o.maxRequests, "max-requests", 0, "bound on the requests sent; 0: rate x duration, or 1000000 with -rate 0")
	fs.IntVar(&o.maxErrors, "max-errors", 0, "exit 1 when more requests than this fail (non-2xx or no answer)")
	fs.StringVar(&o.jsonOut, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.plotOut, "plot", "", "write an HTML plot of latency and errors over time to this file")
	fs.StringVar(&o.title, "title", "", "title of the plot and the JSON; default: the target")
	fs.Func("event", "run a command with sh -c at an offset into the attack, and mark it: `offset=command`, e.g. 20s='kubectl delete pod x' (repeatable)", func(s string) error {
		e, err := parseScheduled(s, true)
		o.events = append(o.events, e)
		return err
	})
	fs.Func("mark", "mark an offset into the attack in the plot and the JSON, running nothing: `offset=label` (repeatable)", func(s string) error {
		e, err := parseScheduled(s, false)
		o.events = append(o.events, e)
		return err
	})
	fs.BoolVar(&o.marksStdin, "marks-stdin", false, "mark the moment each line arrives on stdin, labelled with the line (for events injected from outside)")
	fs.DurationVar(&o.eventTimeout, "event-timeout", 2*time.Minute, "bound on each -event command")
	fs.Func("pair-env", "set a variable of the in-process pair's services: `KEY=value`, e.g. CLIENT_MAX_CONN_AGE=1s (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("want KEY=value, got %q", s)
		}
		o.pairEnv = append(o.pairEnv, s)
		return nil
	})
	fs.StringVar(&o.pairLog, "pair-log", "", "write the in-process services' logs to this file; default: discard")
	fs.BoolVar(&o.benchCompare, "bench-compare", false, "compare backend, frontend -> backend and ReverseProxy -> backend on loopback")
	fs.BoolVar(&o.tls, "tls", false, "with -bench-compare: also frontend -> backend over HTTPS and over mutual TLS, each against (2)")
	fs.IntVar(&o.rounds, "rounds", 3, "with -bench-compare: rounds over the three targets; the table shows the medians")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "with -bench-compare: unmeasured load before each measurement")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "load: unexpected arguments %q\n", fs.Args())
		return o, cli.ErrUsage
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return o, cli.ErrUsage
	}
	return o, nil
}

// check rejects options that would make an unbounded or meaningless run.
func (o *options) check() error {
	var errs []error
	if o.rate < 0 {
		errs = append(errs, fmt.Errorf("-rate must not be negative, got %d", o.rate))
	}
	if o.duration <= 0 {
		errs = append(errs, fmt.Errorf("-duration must be positive, got %v", o.duration))
	}
	if o.timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout must be positive, got %v", o.timeout))
	}
	if o.maxWorkers == 0 || o.workers == 0 {
		errs = append(errs, errors.New("-workers and -max-workers must be at least 1"))
	}
	if o.maxErrors < 0 {
		errs = append(errs, fmt.Errorf("-max-errors must not be negative, got %d", o.maxErrors))
	}
	if o.eventTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-event-timeout must be positive, got %v", o.eventTimeout))
	}
	for _, e := range o.events {
		if e.At >= o.duration {
			errs = append(errs, fmt.Errorf("event at %v is not within -duration %v", e.At, o.duration))
		}
	}
	if o.target != "" {
		u, err := url.Parse(o.target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("-target must be an http(s) URL, got %q", o.target))
		}
	}
	if !strings.HasPrefix(o.path, "/") {
		errs = append(errs, fmt.Errorf("-path must start with /, got %q", o.path))
	}
	if o.benchCompare && (len(o.resolve) > 0 || o.caFile != "") {
		errs = append(errs, errors.New("-resolve and -cacert apply to -target, not to -bench-compare"))
	}
	if o.tls && !o.benchCompare {
		errs = append(errs, errors.New("-tls applies only with -bench-compare"))
	}
	if o.benchCompare && o.rounds < 1 {
		errs = append(errs, fmt.Errorf("-rounds must be at least 1, got %d", o.rounds))
	}
	if o.maxRequests == 0 {
		o.maxRequests = 1_000_000
		if o.rate > 0 {
			o.maxRequests = uint64(float64(o.rate)*o.duration.Seconds()) + 1
		}
	}
	return errors.Join(errs...)
}

// run is the whole command with the OS passed in, so tests run it in-process.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	pairLog := io.Discard
	if o.pairLog != "" {
		f, err := os.Create(o.pairLog)
		if err != nil {
			return err
		}
		defer f.Close()
		pairLog = f
	}
	if o.benchCompare {
		return benchCompare(ctx, o, environ, pairLog, stdout)
	}

	target := strings.TrimSuffix(o.target, "/")
	described := target
	if target == "" {
		pairCtx, stopPair := context.WithCancel(ctx)
		pair, err := localpair.Start(pairCtx, localpair.Config{
			Replicas: 3,
			Environ:  append(localpair.Inherit(environ), o.pairEnv...),
			Stdout:   pairLog,
		})
		if err != nil {
			stopPair()
			return fmt.Errorf("start the local pair: %w", err)
		}
		defer func() {
			stopPair()
			if err := pair.Wait(); err != nil {
				fmt.Fprintln(stderr, "load: local pair:", err)
			}
		}()
		target = pair.FrontendURL
		described = target + " (local pair in-process: 3 backends, loopback DNS)"
	}
	tr, err := transport(o.resolve, o.caFile)
	if err != nil {
		return err
	}
	title := o.title
	if title == "" {
		title = "load " + described
	}

	marks := newMarks()
	if o.marksStdin {
		go marks.readLines(stdin)
	}
	rep, err := attack(ctx, attackSpec{
		name:        "frontend",
		url:         target + o.path,
		rate:        o.rate,
		duration:    o.duration,
		timeout:     o.timeout,
		workers:     o.workers,
		maxWorkers:  o.maxWorkers,
		maxRequests: o.maxRequests,
		countPods:   true,
		transport:   tr,
		onStart: func(start time.Time) {
			marks.start(start)
			for _, e := range o.events {
				marks.schedule(ctx, e, o.eventTimeout, stderr)
			}
		},
	})
	if err != nil {
		return err
	}
	rep.Title, rep.Target, rep.MaxErrors = title, described, o.maxErrors
	rep.Marks = marks.wait()
	rep.Passed = rep.Failed() <= o.maxErrors

	writeSummary(stdout, rep)
	if o.jsonOut != "" {
		if err := writeFile(o.jsonOut, rep.writeJSON); err != nil {
			return err
		}
	}
	if o.plotOut != "" {
		if err := writeFile(o.plotOut, rep.writePlot); err != nil {
			return err
		}
	}
	var errs []error
	if failed := rep.Failed(); failed > o.maxErrors {
		errs = append(errs, fmt.Errorf("%d of %d requests failed, more than -max-errors %d", failed, rep.Requests, o.maxErrors))
	}
	for _, m := range rep.Marks {
		if m.Error != "" {
			errs = append(errs, fmt.Errorf("event %q at %v: %s", m.Command, m.at(), m.Error))
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("interrupted: %w", context.Cause(ctx)))
	}
	return errors.Join(errs...)
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
