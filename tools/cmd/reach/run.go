package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

// The results a check can have. Only reached means the policy let the connection through.
const (
	reached     = "reached"
	refused     = "refused"
	unreachable = "unreachable"
	timeout     = "timeout"
	failed      = "failed"
)

// check is one thing to try: a TCP connect to Target (host:port) or a lookup of Target.
type check struct {
	Name   string
	Kind   string // "tcp" or "dns"
	Target string
}

// result is what reach prints for one check, as one JSON line.
type result struct {
	Name    string  `json:"name"`
	Kind    string  `json:"kind"`
	Target  string  `json:"target"`
	Result  string  `json:"result"`
	Tries   int     `json:"tries"`
	Seconds float64 `json:"seconds"`
	Detail  string  `json:"detail,omitempty"`
}

// options are the command line.
type options struct {
	settle      time.Duration
	wait        time.Duration
	interval    time.Duration
	dialTimeout time.Duration
	dnsServer   string
	checks      []check
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("reach", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: reach [flags] NAME=tcp:HOST:PORT|NAME=dns:HOST...\n\n"+
			"Tries each check and prints one JSON line per check: reached, refused, unreachable,\n"+
			"timeout or failed.\n\n")
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.settle, "settle", 8*time.Second, "wait this long before the first try (the enforcer programs a new pod's rules meanwhile)")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "after -settle, keep trying a check that does not get through this long")
	fs.DurationVar(&o.interval, "interval", 500*time.Millisecond, "pause between tries of one check")
	fs.DurationVar(&o.dialTimeout, "dial-timeout", 2*time.Second, "give up one try after this long (a dropped packet)")
	fs.StringVar(&o.dnsServer, "dns-server", "", "host:port of the DNS server for dns checks (default: the system's resolver)")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if o.settle < 0 || o.wait < 0 || o.interval <= 0 || o.dialTimeout <= 0 {
		fmt.Fprintln(stderr, "reach: -settle and -wait must be >= 0, -interval and -dial-timeout > 0")
		return o, cli.ErrUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "reach: no checks given")
		return o, cli.ErrUsage
	}
	for _, arg := range fs.Args() {
		c, err := parseCheck(arg)
		if err != nil {
			fmt.Fprintf(stderr, "reach: %v\n", err)
			return o, cli.ErrUsage
		}
		o.checks = append(o.checks, c)
	}
	return o, nil
}

// parseCheck reads NAME=tcp:HOST:PORT or NAME=dns:HOST.
func parseCheck(arg string) (check, error) {
	name, spec, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		return check{}, fmt.Errorf("check %q: want NAME=tcp:HOST:PORT or NAME=dns:HOST", arg)
	}
	kind, target, _ := strings.Cut(spec, ":")
	switch kind {
	case "tcp":
		if _, _, err := net.SplitHostPort(target); err != nil {
			return check{}, fmt.Errorf("check %q: %w", arg, err)
		}
	case "dns":
		if target == "" {
			return check{}, fmt.Errorf("check %q: no host name", arg)
		}
	default:
		return check{}, fmt.Errorf("check %q: kind %q is neither tcp nor dns", arg, kind)
	}
	return check{Name: name, Kind: kind, Target: target}, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	resolver := &net.Resolver{PreferGo: true}
	if o.dnsServer != "" {
		server := o.dnsServer
		resolver.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}
	}
	start := time.Now()
	select {
	case <-time.After(o.settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	results := make([]result, len(o.checks))
	var wg sync.WaitGroup
	for i, c := range o.checks {
		wg.Go(func() {
			results[i] = try(ctx, c, o, resolver, start)
		})
	}
	wg.Wait()
	enc := json.NewEncoder(stdout)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	}
	return ctx.Err()
}

// try repeats c until it gets through or o.wait has passed, and reports the last outcome.
func try(ctx context.Context, c check, o options, resolver *net.Resolver, start time.Time) result {
	r := result{Name: c.Name, Kind: c.Kind, Target: c.Target}
	deadline := time.Now().Add(o.wait)
	for {
		r.Tries++
		r.Result, r.Detail = once(ctx, c, o.dialTimeout, resolver)
		if r.Result == reached || !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(o.interval):
		case <-ctx.Done():
		}
	}
	r.Seconds = time.Since(start).Round(100 * time.Millisecond).Seconds()
	return r
}

// once makes one try of c and classifies it.
func once(ctx context.Context, c check, dialTimeout time.Duration, resolver *net.Resolver) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if c.Kind == "dns" {
		addrs, err := resolver.LookupHost(ctx, c.Target)
		var dnsErr *net.DNSError
		switch {
		case err == nil:
			return reached, strings.Join(addrs, ",")
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			// A server answered: DNS is reachable, the name just does not exist.
			return reached, "answered: not found"
		}
		return classify(err), err.Error()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Target)
	if err != nil {
		return classify(err), err.Error()
	}
	_ = conn.Close()
	return reached, ""
}

// classify names a failed try: refused and unreachable are rejections, timeout a drop.
func classify(err error) string {
	var netErr net.Error
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"):
		return refused
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		strings.Contains(msg, "no route to host") || strings.Contains(msg, "network is unreachable"):
		return unreachable
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return timeout
	}
	return failed
}
