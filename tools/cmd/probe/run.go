package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
)

// errMismatch is returned with -strict when a probe saw something other than what it wants.
var errMismatch = errors.New("probes saw what they do not want")

// options are the command line.
type options struct {
	target            string
	strict            bool
	idle              int
	idleWait          time.Duration
	slowloris         int
	readHeaderTimeout time.Duration
	spreadN           int
	spreadCalls       int
	bodySizes         []int64
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{bodySizes: []int64{2 << 20, 50 << 20}}
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: probe [flags]\n\n"+
			"Runs every probe against the frontend and prints what each saw and what it wants.\n"+
			"Without -target it starts the local pair on loopback.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.target, "target", "", "frontend URL to probe (default: start the local pair)")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when any probe sees what it does not want")
	fs.IntVar(&o.idle, "idle", 2000, "idle keep-alive connections to open")
	fs.DurationVar(&o.idleWait, "idle-wait", 5*time.Second, "how long the idle connections wait before they are counted")
	fs.IntVar(&o.slowloris, "slowloris", 500, "slowloris connections to open")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 5*time.Second, "the server's READ_HEADER_TIMEOUT: slowloris connections should be closed by then (+1s)")
	fs.IntVar(&o.spreadN, "spread-n", 1000, "n of each /api/spread call")
	fs.IntVar(&o.spreadCalls, "spread-calls", 10, "concurrent /api/spread calls")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "probe: unexpected arguments %q\n", fs.Args())
		return o, cli.ErrUsage
	}
	if o.idle < 0 || o.slowloris < 0 || o.spreadN < 1 || o.spreadCalls < 1 || o.idleWait <= 0 || o.readHeaderTimeout <= 0 {
		fmt.Fprintln(stderr, "probe: -idle and -slowloris must be >= 0, -spread-n and -spread-calls >= 1, durations > 0")
		return o, cli.ErrUsage
	}
	if o.target != "" {
		u, err := url.Parse(o.target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "probe: -target %q is not an http(s) URL\n", o.target)
			return o, cli.ErrUsage
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	target := o.target
	if target == "" {
		pairCtx, stop := context.WithCancel(ctx)
		pair, err := localpair.Start(pairCtx, localpair.Config{})
		if err != nil {
			stop()
			return err
		}
		defer func() {
			stop()
			_ = pair.Wait()
		}()
		target = pair.FrontendURL
		fmt.Fprintf(stdout, "probing the local pair at %s\n\n", target)
	} else {
		fmt.Fprintf(stdout, "probing %s\n\n", target)
	}

	p, err := newProber(target, o)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tprobe\tsaw\twant\tverdict")
	mismatches := 0
	for i, pr := range p.probes() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := pr.run(ctx)
		verdict := "ok"
		switch {
		case r.skipped:
			verdict = "-"
		case !r.ok:
			verdict = "MISMATCH"
			mismatches++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, pr.name, r.saw, r.want, verdict)
	}
	// One flush, so the columns line up over every row (the whole run takes under a minute).
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d mismatches\n", mismatches)
	if o.strict && mismatches > 0 {
		return fmt.Errorf("%w: %d", errMismatch, mismatches)
	}
	return nil
}
