// Command hopcost measures what the pair costs against the floor it cannot go below: in one
// run, on loopback, (A) a bare net/http hello, (B) a bare httputil.ReverseProxy in front of
// that hello, the backend alone and the pair (frontend -> backend), each server a process of
// its own, so that the CPU time it used (utime + stime from /proc/<pid>/stat) is its own. wrk
// drives each target with the same keep-alive connections in rounds whose order rotates, and
// the table shows the medians of throughput, p99 and server CPU per request, and the ratios
// of the backend to A and of the pair to B: the references share nothing with the pair, so
// overhead of the pair's own cannot cancel out of a ratio.
//
// Two more pairs, each its own two processes, call the backend over HTTPS and over mutual TLS
// (certificates from localpair.TLSEnviron, in a temporary directory), and are set against the
// plain pair: what TLS costs at the hop. wrk still speaks plain HTTP to the frontend; the TLS
// is the frontend's pooled connections to the backend. So that the cost is not hidden in
// handshakes, the tool also counts them: it scrapes the TLS backend's admin /metrics before
// and after each measured run and divides the growth of http_server_tls_handshakes_total by
// that of http_server_requests_total. Both are the backend's own counters, read at the same
// two instants, so they cover the same window and the same hop (wrk's request count would
// miss the requests in flight when it stops, and counts the frontend's requests, not the
// backend's). -tls=false leaves these two pairs out.
//
// The services run as built by `go build` (make bench-compare builds them), with their
// shipped defaults: no OTLP endpoint (trace ids made and propagated, no span recorded), the
// Prometheus RED metrics, LOG_LEVEL=info and ACCESS_LOG_RATE=100 (the access log's first 100
// lines of every second, and every 5xx); -env adds variables to both. Their stdout goes to a
// pipe the tool drains, as a container runtime's would. The frontend finds the backend through
// the Service variables (DISCOVERY_SKIP_DNS=true), a cached lookup like the DNS one.
//
// wrk, not vegeta: wrk is an event loop in C that keeps -connections requests in flight with
// a fraction of the CPU a Go load generator needs for the same rate, which on a 2-core machine
// leaves more of the CPUs to the servers under test (Debian: apt-get install wrk).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
	"github.com/svc2svc/svc2svc/tools/internal/stats"
)

// The goals of issue 13, on the 2-core machine the numbers come from.
const (
	goalPairThroughput = 0.8  // the pair's throughput at least this times B's
	goalTLSThroughput  = 0.8  // the HTTPS and mutual TLS pairs' throughput at least this times the plain pair's
	goalPairCPU        = 1.25 // the pair's server CPU per request at most this times B's
	goalPairP99        = 1.25 // the pair's p99 at most this times B's
	goalBackend        = 0.7  // the backend's throughput at least this times A's
)

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "serve-") {
		// The references run as children of this same binary, each a process of its own.
		if err := serveReference(os.Args[1], os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	cli.Main("hopcost", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout)
	})
}

type options struct {
	wrk         string
	threads     int
	connections int
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	path        string
	accept      string
	backendBin  string
	frontendBin string
	tls         bool
	env         []string
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("hopcost", flag.ContinueOnError)
	fs.StringVar(&o.wrk, "wrk", "wrk", "the wrk binary")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	fs.IntVar(&o.connections, "connections", 64, "keep-alive connections, each with one request in flight (wrk -c)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured load per target and round")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds over the targets, in rotating order; the table shows the medians")
	fs.StringVar(&o.path, "path", "/", "the path asked of every target")
	fs.StringVar(&o.accept, "accept", "application/json", "the Accept header sent (the frontend answers JSON, text or HTML)")
	fs.StringVar(&o.backendBin, "backend", "bin/backend", "the backend binary (make build)")
	fs.StringVar(&o.frontendBin, "frontend", "bin/frontend", "the frontend binary (make build)")
	fs.BoolVar(&o.tls, "tls", true, "also measure the pair over HTTPS and over mutual TLS, and their handshakes per request")
	fs.Func("env", "KEY=VALUE added to both services' environment (repeatable), e.g. -env LOG_LEVEL=warn", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("want KEY=VALUE, got %q", s)
		}
		o.env = append(o.env, s)
		return nil
	})
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if o.rounds < 1 || o.connections < 1 || o.threads < 1 || o.threads > o.connections {
		return errors.New("want -rounds >= 1 and 1 <= -threads <= -connections")
	}
	if _, err := exec.LookPath(o.wrk); err != nil {
		return fmt.Errorf("%s not found (Debian: apt-get install wrk): %w", o.wrk, err)
	}

	servers, err := startAll(ctx, o)
	defer servers.stop()
	if err != nil {
		return err
	}
	targets := []target{
		{name: "A bare hello", url: servers.hello.url, pids: []int{servers.hello.pid()}},
		{name: "B bare proxy -> hello", url: servers.proxy.url, pids: []int{servers.proxy.pid(), servers.hello.pid()}},
		{name: "backend alone", url: servers.backend.url, pids: []int{servers.backend.pid()}},
		{name: "frontend -> backend", url: servers.frontend.url, pids: []int{servers.frontend.pid(), servers.backend.pid()}},
	}
	for _, p := range servers.tls {
		targets = append(targets, target{name: p.name, label: p.label, url: p.frontend.url,
			pids: []int{p.frontend.pid(), p.backend.pid()}, metricsURL: p.backend.adminURL + "/metrics"})
	}
	fmt.Fprintf(stdout, "machine  %d CPUs, %s, load average %s\n", runtime.NumCPU(), runtime.Version(), loadavg())
	fmt.Fprintf(stdout, "load     wrk -t%d -c%d -d%v (after %v of warm-up) -H 'Accept: %s' GET %s, %d round(s); env %q\n\n",
		o.threads, o.connections, o.duration, o.warmup, o.accept, o.path, o.rounds, o.env)

	results := make([][]result, len(targets))
	counts := make([]tlsCounts, len(targets)) // summed over the rounds
	for round := range o.rounds {
		for i := range targets {
			k := (i + round) % len(targets)
			t := targets[k]
			if o.warmup > 0 {
				if _, err := wrk(ctx, o, t.url, o.warmup); err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
			}
			countsBefore, err := t.scrape(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			before, err := cpuTicks(t.pids)
			if err != nil {
				return err
			}
			r, err := wrk(ctx, o, t.url, o.duration)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			after, err := cpuTicks(t.pids)
			if err != nil {
				return err
			}
			countsAfter, err := t.scrape(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			grown := countsAfter.minus(countsBefore)
			counts[k] = counts[k].plus(grown)
			if r.requests > 0 {
				r.cpuUS = float64(after-before) * 1e6 / clockTicks / float64(r.requests)
			}
			results[k] = append(results[k], r)
			fmt.Fprintf(stdout, "round %d  %-22s %8.0f/s  p99 %7.2fms  cpu %6.1fµs/req  errors %d%s\n",
				round+1, t.name, r.rps, r.p99ms, r.cpuUS, r.errors, t.handshakeNote(grown))
		}
	}

	fmt.Fprintf(stdout, "\n%-22s %10s %10s %14s %8s\n", "median", "rps", "p99 ms", "cpu µs/req", "errors")
	rows := make([]result, len(targets))
	for i, t := range targets {
		rows[i] = medianOf(results[i])
		fmt.Fprintf(stdout, "%-22s %10.0f %10.2f %14.1f %8d\n", t.name, rows[i].rps, rows[i].p99ms, rows[i].cpuUS, rows[i].errors)
	}
	a, b, be, pair := rows[0], rows[1], rows[2], rows[3]
	fmt.Fprintf(stdout, "\nbackend / A:  throughput %.2fx (goal >= %.2fx: %s), cpu/req %.2fx, p99 %.2fx\n",
		be.rps/a.rps, goalBackend, met(be.rps/a.rps >= goalBackend), be.cpuUS/a.cpuUS, be.p99ms/a.p99ms)
	fmt.Fprintf(stdout, "pair / B:     throughput %.2fx (goal >= %.2fx: %s), cpu/req %.2fx (goal <= %.2fx: %s), p99 %.2fx (goal <= %.2fx: %s)\n",
		pair.rps/b.rps, goalPairThroughput, met(pair.rps/b.rps >= goalPairThroughput),
		pair.cpuUS/b.cpuUS, goalPairCPU, met(pair.cpuUS/b.cpuUS <= goalPairCPU),
		pair.p99ms/b.p99ms, goalPairP99, met(pair.p99ms/b.p99ms <= goalPairP99))
	for i, t := range targets {
		if t.metricsURL == "" {
			continue
		}
		r := rows[i]
		fmt.Fprintf(stdout, "%-13s throughput %.2fx (goal >= %.2fx: %s), cpu/req %.2fx, p99 %.2fx; %s\n",
			t.label+" / pair:", r.rps/pair.rps, goalTLSThroughput, met(r.rps/pair.rps >= goalTLSThroughput),
			r.cpuUS/pair.cpuUS, r.p99ms/pair.p99ms, counts[i])
	}
	fmt.Fprintf(stdout, "load average at the end %s\n", loadavg())
	for _, r := range rows {
		if r.errors > 0 {
			return errors.New("some requests failed: see the errors column")
		}
	}
	return nil
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// target is one of the compared configurations; pids are the processes that serve it, whose
// CPU time is its cost. metricsURL, for a TLS pair, is its backend's /metrics, whose
// handshakes and requests are counted around each measured run.
type target struct {
	name       string
	label      string // a TLS pair's name in its ratio line
	url        string
	pids       []int
	metricsURL string
}

// scrape reads the target's backend counters; zero for a target without metricsURL.
func (t target) scrape(ctx context.Context) (tlsCounts, error) {
	if t.metricsURL == "" {
		return tlsCounts{}, nil
	}
	return scrapeCounts(ctx, t.metricsURL)
}

// handshakeNote is the per-round line's tail for a TLS pair: the handshakes in that run.
func (t target) handshakeNote(c tlsCounts) string {
	if t.metricsURL == "" {
		return ""
	}
	return "  " + c.String()
}

// result is one wrk run.
type result struct {
	rps      float64
	p99ms    float64
	requests int64
	errors   int64
	cpuUS    float64 // server CPU per request, µs
}

func medianOf(rs []result) result {
	m := result{
		rps:   stats.Median(rs, func(r result) float64 { return r.rps }),
		p99ms: stats.Median(rs, func(r result) float64 { return r.p99ms }),
		cpuUS: stats.Median(rs, func(r result) float64 { return r.cpuUS }),
	}
	for _, r := range rs {
		m.errors += r.errors
	}
	return m
}

// wrk runs wrk against url for d and reads its report.
func wrk(ctx context.Context, o options, url string, d time.Duration) (result, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, o.wrk, "-t", strconv.Itoa(o.threads), "-c", strconv.Itoa(o.connections),
		"-d", strconv.Itoa(secs)+"s", "--latency", "-H", "Accept: "+o.accept, url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(string(out))
}

// parseWrk reads the lines of wrk's --latency report that the table needs.
func parseWrk(out string) (result, error) {
	var r result
	var haveRPS, haveP99 bool
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %w", line, err)
			}
			r.rps, haveRPS = v, true
		case len(f) == 2 && f[0] == "99%":
			v, err := parseDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %w", line, err)
			}
			r.p99ms, haveP99 = v, true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			r.requests, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			r.errors += lastInt(line)
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for part := range strings.SplitSeq(strings.TrimPrefix(strings.TrimSpace(line), "Socket errors:"), ",") {
				r.errors += lastInt(part)
			}
		}
	}
	if !haveRPS || !haveP99 || r.requests == 0 {
		return r, fmt.Errorf("wrk: no Requests/sec, 99%% or request count in:\n%s", out)
	}
	return r, nil
}

func lastInt(s string) int64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
	return n
}

// parseDuration reads wrk's latencies (812.00us, 1.23ms, 2.01s, 1.5m) as milliseconds.
func parseDuration(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.ms, err
		}
	}
	return 0, fmt.Errorf("unknown unit in %q", s)
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on Linux on
// every architecture Go supports.
const clockTicks = 100

// cpuTicks sums utime and stime of pids.
func cpuTicks(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, fmt.Errorf("server CPU time: %w", err)
		}
		// The command name may hold spaces; the fields after its closing parenthesis are
		// state (3), ..., utime (14), stime (15).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			return 0, fmt.Errorf("short /proc/%d/stat", pid)
		}
		for _, v := range f[11:13] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
			}
			sum += n
		}
	}
	return sum, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// server is one started process, the URL of its public port and, for a TLS backend, that of
// its admin port (/metrics, /readyz).
type server struct {
	cmd      *exec.Cmd
	url      string
	adminURL string
	done     chan struct{}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

type servers struct {
	hello, proxy, backend, frontend *server
	tls                             []tlsPair // HTTPS, then mutual TLS; none with -tls=false
	all                             []*server
	certs                           string // the TLS pairs' certificates, removed by stop
}

// tlsPair is a frontend calling its own backend over TLS.
type tlsPair struct {
	name, label       string // the table's row and the ratio line's label
	mode              localpair.TLS
	backend, frontend *server
}

// stop ends every process with SIGTERM, then waits for it, and removes the certificates.
func (s *servers) stop() {
	if s.certs != "" {
		defer os.RemoveAll(s.certs)
	}
	for _, p := range s.all {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.all {
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// startAll starts the servers, each on a free loopback port, and waits until each answers.
func startAll(ctx context.Context, o options) (*servers, error) {
	s := &servers{}
	self, err := os.Executable()
	if err != nil {
		return s, err
	}
	// start runs argv with env on a free PORT. With tlsAdmin the server is a TLS backend: it
	// also gets a free ADMIN_PORT, whose /metrics the tool scrapes and also polls until it is
	// up (its public port answers only over TLS, and under mutual TLS only the frontend; its
	// listeners open before either serves, so the frontend can call it from then on).
	start := func(name string, argv []string, env []string, tlsAdmin bool) (*server, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		env = append(env, "PORT="+strconv.Itoa(port))
		p := &server{url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
		if tlsAdmin {
			adminPort, err := freePort()
			if err != nil {
				return nil, err
			}
			env = append(env, "ADMIN_PORT="+strconv.Itoa(adminPort)) // the last one counts
			p.url = fmt.Sprintf("https://127.0.0.1:%d", port)
			p.adminURL = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		// A pipe that is drained, like a container runtime's: writing the logs costs the
		// server what it costs in a pod.
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		p.cmd = cmd
		s.all = append(s.all, p)
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReaderSize(out, 64<<10))
			_ = cmd.Wait()
			close(p.done)
		}()
		if err := waitUp(ctx, p, name); err != nil {
			return nil, err
		}
		return p, nil
	}
	base := []string{"PATH=" + os.Getenv("PATH")}
	if s.hello, err = start("hello", []string{self, "serve-hello"}, base, false); err != nil {
		return s, err
	}
	if s.proxy, err = start("proxy", []string{self, "serve-proxy", s.hello.url}, base, false); err != nil {
		return s, err
	}
	svc := append(base, "LISTEN_HOST=127.0.0.1", "ADMIN_PORT=0", "DRAIN_DELAY=0s", "POD_NAMESPACE=bench")
	svc = append(svc, o.env...)
	backendBin, err := filepath.Abs(o.backendBin)
	if err != nil {
		return s, err
	}
	frontendBin, err := filepath.Abs(o.frontendBin)
	if err != nil {
		return s, err
	}
	// startPair starts a backend with backendEnv and a frontend with frontendEnv that calls it.
	startPair := func(suffix string, backendEnv, frontendEnv []string) (backend, frontend *server, err error) {
		env := append(slices.Clone(svc), "POD_NAME=backend-1", "POD_IP=127.0.0.1")
		if backend, err = start("backend"+suffix, []string{backendBin}, append(env, backendEnv...), len(backendEnv) > 0); err != nil {
			return nil, nil, err
		}
		u, _ := url.Parse(backend.url)
		env = append(slices.Clone(svc), "POD_NAME=frontend-1",
			"DISCOVERY_SKIP_DNS=true", "BACKEND_SERVICE_SERVICE_HOST=127.0.0.1", "BACKEND_SERVICE_SERVICE_PORT="+u.Port())
		frontend, err = start("frontend"+suffix, []string{frontendBin}, append(env, frontendEnv...), false)
		return backend, frontend, err
	}
	if s.backend, s.frontend, err = startPair("", nil, nil); err != nil || !o.tls {
		return s, err
	}
	if s.certs, err = os.MkdirTemp("", "hopcost-tls-"); err != nil {
		return s, err
	}
	for _, p := range []tlsPair{
		{name: "pair over HTTPS", label: "HTTPS", mode: localpair.TLSOn},
		{name: "pair over mutual TLS", label: "mTLS", mode: localpair.TLSMutual},
	} {
		dir := filepath.Join(s.certs, string(p.mode))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return s, err
		}
		backendEnv, frontendEnv, err := localpair.TLSEnviron(dir, p.mode)
		if err != nil {
			return s, fmt.Errorf("write the %s certificates: %w", p.label, err)
		}
		if p.backend, p.frontend, err = startPair(" ("+string(p.mode)+")", backendEnv, frontendEnv); err != nil {
			return s, err
		}
		s.tls = append(s.tls, p)
	}
	return s, nil
}

// waitUp polls the server until it answers 200 (a TLS backend: its admin /metrics), for at
// most 10 s.
func waitUp(ctx context.Context, p *server, name string) error {
	deadline := time.Now().Add(10 * time.Second)
	probe := p.url + "/"
	if p.adminURL != "" {
		probe = p.adminURL + "/metrics"
	}
	for {
		res, err := http.Get(probe)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it answered", name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer GET %s within 10s: %w", name, probe, err)
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// helloBody is what the bare hello answers.
var helloBody = []byte("hello\n")

// serveReference runs reference A (serve-hello) or B (serve-proxy TARGET) on PORT until
// SIGTERM: nothing but net/http, as its documentation's examples do, with the timeouts every
// server here sets.
func serveReference(mode string, args []string) error {
	var h http.Handler
	switch {
	case mode == "serve-hello" && len(args) == 0:
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(helloBody) })
	case mode == "serve-proxy" && len(args) == 1:
		target, err := url.Parse(args[0])
		if err != nil {
			return err
		}
		// Pooled like the frontend's client (64 idle connections per host, not net/http's
		// 2), so that the comparison is between the hops, not between connection pools.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.MaxIdleConnsPerHost, tr.MaxIdleConns = 64, 256
		h = &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
			Transport: tr,
			ErrorLog:  log.New(io.Discard, "", 0),
		}
	default:
		return fmt.Errorf("usage: hopcost serve-hello | serve-proxy URL, got %s %q", mode, args)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
