package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// result is what one probe saw, what it wants, and whether the two agree.
type result struct {
	saw, want string
	ok        bool
	// skipped means the probe did not run here (its check lives elsewhere).
	skipped bool
}

// probe is one row of the table.
type probe struct {
	name string
	run  func(context.Context) result
}

// prober holds the target and the options every probe reads.
type prober struct {
	base *url.URL
	addr string // host:port for the raw-connection probes
	o    options
}

func newProber(target string, o options) (*prober, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse target: %w", err)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &prober{base: u, addr: addr, o: o}, nil
}

func (p *prober) probes() []probe {
	return []probe{
		{"idle keep-alive connections", p.idle},
		{"slowloris headers", p.slowloris},
		{"concurrent /api/spread", p.spread},
		{"large POST / bodies", p.bodies},
		{"HEAD", p.head},
		{"repeated query parameter", p.repeatedParam},
		{"60 KB X-Request-Id", p.requestID},
		{"security headers", p.securityHeaders},
		{"/metrics on the main port", p.metrics},
		{"one backend hung", func(context.Context) result {
			return result{saw: "not probed here", want: "see e2e", skipped: true}
		}},
	}
}

// url returns the target with path and raw query pathQuery ("/api/spread?n=3").
func (p *prober) url(pathQuery string) string {
	return strings.TrimSuffix(p.base.String(), "/") + pathQuery
}

// newClient returns a client of its own (its own connections), with a deadline per request.
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

// do sends one request and returns its status (or the error, shortened) and the response
// headers; the body is read and dropped.
func do(ctx context.Context, c *http.Client, method, u string, body io.Reader, edit func(*http.Request)) (string, int, http.Header) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "error: " + err.Error(), 0, nil
	}
	if edit != nil {
		edit(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "error: " + shortErr(err), 0, nil
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return fmt.Sprint(resp.StatusCode), resp.StatusCode, resp.Header
}

// shortErr keeps the innermost cause of err, which is what tells the probes apart
// ("connection reset by peer", "EOF", "Client.Timeout exceeded").
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && !strings.Contains(s, "Client.Timeout") {
		s = s[i+2:]
	}
	return s
}

// dial opens a raw connection to the target (TLS for https), with a short deadline.
func (p *prober) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	if p.base.Scheme == "https" {
		td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: p.base.Hostname()}}
		return td.DialContext(ctx, "tcp", p.addr)
	}
	return d.DialContext(ctx, "tcp", p.addr)
}

// dialMany opens n connections with a few dozen dials in flight and calls setup on each; it
// returns the connections that were opened and set up (the others are closed).
func (p *prober) dialMany(ctx context.Context, n int, setup func(net.Conn) error) []net.Conn {
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 64)
	)
	for range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := p.dial(ctx)
			if err != nil {
				return
			}
			if err := setup(c); err != nil {
				c.Close()
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	return conns
}

// stillOpen reports whether the server has not closed c: a read that times out means the
// connection is open and silent; EOF, a reset or any bytes mean the server closed or answered.
func stillOpen(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// idle opens -idle keep-alive connections, each after one answered request, leaves them idle
// for -idle-wait and counts how many the server still holds, then asks GET / from another client.
func (p *prober) idle(ctx context.Context) result {
	ctx, cancel := context.WithTimeout(ctx, p.o.idleWait+15*time.Second)
	defer cancel()
	host := p.base.Host
	conns := p.dialMany(ctx, p.o.idle, func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return c.SetDeadline(time.Time{})
	})
	defer closeAll(conns)
	sleep(ctx, p.o.idleWait)
	held := 0
	for _, c := range conns {
		if stillOpen(c, time.Millisecond) {
			held++
		}
	}
	status, code, _ := do(ctx, newClient(5*time.Second), http.MethodGet, p.url("/"), nil, nil)
	return result{
		saw:  fmt.Sprintf("%d of %d opened (%d asked) held open after %s; GET / from another client: %s", held, len(conns), p.o.idle, p.o.idleWait, status),
		want: "GET / 200 meanwhile; held: no more than the server's cap",
		ok:   code == http.StatusOK,
	}
}

// slowloris opens -slowloris connections that send a request line and then one header line
// a second, never finishing, and counts those the server closed within READ_HEADER_TIMEOUT+1s.
func (p *prober) slowloris(ctx context.Context) result {
	limit := p.o.readHeaderTimeout + time.Second
	ctx, cancel := context.WithTimeout(ctx, limit+10*time.Second)
	defer cancel()
	host := p.base.Host
	conns := p.dialMany(ctx, p.o.slowloris, func(c net.Conn) error {
		_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n", host)
		return err
	})
	defer closeAll(conns)
	start := time.Now()
	stop := make(chan struct{})
	var trickle sync.WaitGroup
	trickle.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for _, c := range conns {
				_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				_, _ = fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i)
			}
		}
	})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		closed int
	)
	for _, c := range conns {
		wg.Go(func() {
			if !stillOpen(c, time.Until(start.Add(limit))) {
				mu.Lock()
				closed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	trickle.Wait()
	return result{
		saw:  fmt.Sprintf("%d of %d opened (%d asked) closed by the server within %s", closed, len(conns), p.o.slowloris, limit),
		want: fmt.Sprintf("all %d closed", len(conns)),
		ok:   closed == len(conns),
	}
}

// spread sends -spread-calls GET /api/spread?n=<-spread-n> at once and counts their statuses,
// and measures GET / latency (p99) before and while they run.
func (p *prober) spread(ctx context.Context) result {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	probeGet := func(c *http.Client) (time.Duration, bool) {
		t0 := time.Now()
		_, code, _ := do(ctx, c, http.MethodGet, p.url("/"), nil, nil)
		return time.Since(t0), code == http.StatusOK
	}
	single := newClient(5 * time.Second)
	var before []time.Duration
	for range 20 {
		d, _ := probeGet(single)
		before = append(before, d)
	}

	statuses := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	heavy := newClient(15 * time.Second)
	done := make(chan struct{})
	for range p.o.spreadCalls {
		wg.Go(func() {
			s, _, _ := do(ctx, heavy, http.MethodGet, p.url(fmt.Sprintf("/api/spread?n=%d", p.o.spreadN)), nil, nil)
			mu.Lock()
			statuses[s]++
			mu.Unlock()
		})
	}
	go func() { wg.Wait(); close(done) }()
	var during []time.Duration
	failed := 0
loop:
	for {
		select {
		case <-done:
			break loop
		default:
		}
		d, ok := probeGet(single)
		during = append(during, d)
		if !ok {
			failed++
		}
	}
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, statuses[k]))
	}
	return result{
		saw: fmt.Sprintf("%s; GET / p99 %s before, %s during (%d calls, %d failed)",
			strings.Join(parts, ", "), p99(before), p99(during), len(during), failed),
		want: "400 (n over the budget) or 429 (spreads in flight over the limit); GET / p99 about the same",
		ok:   statuses["400"]+statuses["429"] > 0 && failed == 0,
	}
}

// p99 returns the 99th percentile of ds, rounded for reading ("-" when there are none).
func p99(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*99+99)/100 - 1
	return s[i].Round(100 * time.Microsecond).String()
}

// zeros is an endless body of zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// bodies POSTs 2 MB and 50 MB to /, with a Content-Length and chunked, and reports each status.
func (p *prober) bodies(ctx context.Context) result {
	var parts []string
	ok := true
	for _, size := range p.o.bodySizes {
		for _, chunked := range []bool{false, true} {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			s, code, _ := do(rctx, newClient(5*time.Second), http.MethodPost, p.url("/"), io.LimitReader(zeros{}, size), func(r *http.Request) {
				r.Header.Set("Content-Type", "application/octet-stream")
				if chunked {
					r.ContentLength = -1
					r.TransferEncoding = []string{"chunked"}
				} else {
					r.ContentLength = size
				}
			})
			cancel()
			kind := ""
			if chunked {
				kind = " chunked"
			}
			parts = append(parts, fmt.Sprintf("%s%s: %s", mb(size), kind, s))
			ok = ok && code == http.StatusRequestEntityTooLarge
		}
	}
	return result{saw: strings.Join(parts, ", "), want: "413 for each", ok: ok}
}

func mb(n int64) string { return fmt.Sprintf("%d MB", n>>20) }

// head asks HEAD /healthz and HEAD /.
func (p *prober) head(ctx context.Context) result {
	c := newClient(5 * time.Second)
	s1, c1, _ := do(ctx, c, http.MethodHead, p.url("/healthz"), nil, nil)
	s2, c2, _ := do(ctx, c, http.MethodHead, p.url("/"), nil, nil)
	return result{
		saw:  fmt.Sprintf("HEAD /healthz: %s, HEAD /: %s", s1, s2),
		want: "200 for both",
		ok:   c1 == http.StatusOK && c2 == http.StatusOK,
	}
}

// repeatedParam asks /api/spread with n given twice, by & and by ;.
func (p *prober) repeatedParam(ctx context.Context) result {
	c := newClient(10 * time.Second)
	s1, c1, _ := do(ctx, c, http.MethodGet, p.url("/api/spread?n=3&n=4"), nil, nil)
	s2, c2, _ := do(ctx, c, http.MethodGet, p.url("/api/spread?n=3;n=4"), nil, nil)
	return result{
		saw:  fmt.Sprintf("?n=3&n=4: %s, ?n=3;n=4: %s", s1, s2),
		want: "400 for both",
		ok:   c1 == http.StatusBadRequest && c2 == http.StatusBadRequest,
	}
}

// maxEchoedID is the longest request id a server should hand back: enough for any id format
// in use (a UUID is 36 bytes), too short to amplify a client's header into logs and answers.
const maxEchoedID = 128

// requestID sends a 60 KB X-Request-Id and reports whether and how much of it came back.
func (p *prober) requestID(ctx context.Context) result {
	id := strings.Repeat("a", 60<<10)
	s, _, h := do(ctx, newClient(5*time.Second), http.MethodGet, p.url("/"), nil, func(r *http.Request) {
		r.Header.Set("X-Request-Id", id)
	})
	echoed := h.Get("X-Request-Id")
	saw := fmt.Sprintf("status %s, X-Request-Id not echoed", s)
	switch {
	case echoed == id:
		saw = fmt.Sprintf("status %s, echoed as sent (%d bytes)", s, len(echoed))
	case echoed != "":
		saw = fmt.Sprintf("status %s, answered with an id of %d bytes", s, len(echoed))
	}
	return result{
		saw:  saw,
		want: fmt.Sprintf("not echoed as sent: replaced, or at most %d bytes", maxEchoedID),
		ok:   s != "" && !strings.HasPrefix(s, "error") && len(echoed) <= maxEchoedID,
	}
}

// securityHeaders lists which of the usual security headers the HTML and the text answers carry.
func (p *prober) securityHeaders(ctx context.Context) result {
	names := []struct{ header, short string }{
		{"Content-Security-Policy", "CSP"},
		{"X-Content-Type-Options", "X-Content-Type-Options"},
		{"X-Frame-Options", "X-Frame-Options"},
		{"Referrer-Policy", "Referrer-Policy"},
	}
	c := newClient(5 * time.Second)
	present := func(accept string) (string, []string) {
		s, _, h := do(ctx, c, http.MethodGet, p.url("/"), nil, func(r *http.Request) { r.Header.Set("Accept", accept) })
		var have []string
		for _, n := range names {
			if h.Get(n.header) != "" {
				have = append(have, n.short)
			}
		}
		return s, have
	}
	sh, html := present("text/html")
	st, text := present("text/plain")
	list := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	return result{
		saw:  fmt.Sprintf("HTML (%s): %s; text (%s): %s", sh, list(html), st, list(text)),
		want: "HTML: all four; text: X-Content-Type-Options at least",
		ok:   len(html) == len(names) && slices.Contains(text, "X-Content-Type-Options"),
	}
}

// metrics asks /metrics on the main port, which should serve only the app once metrics have
// an admin port of their own.
func (p *prober) metrics(ctx context.Context) result {
	s, code, _ := do(ctx, newClient(5*time.Second), http.MethodGet, p.url("/metrics"), nil, nil)
	return result{saw: "status " + s, want: "404 (metrics on the admin port)", ok: code == http.StatusNotFound}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
