package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

func TestParseLiveN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		ok      bool
		want    int
		wantErr bool
	}{
		{ok: false, want: defaultLiveN},
		{value: "1", ok: true, want: 1},
		{value: "20", ok: true, want: maxLiveN},
		{value: "21", ok: true, wantErr: true},
		{value: "0", ok: true, wantErr: true},
		{value: "-3", ok: true, wantErr: true},
		{value: "", ok: true, wantErr: true},
		{value: "five", ok: true, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseLiveN(tt.value, tt.ok)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("parseLiveN(%q, %v) = %d, %v; want %d, error %v", tt.value, tt.ok, got, err, tt.want, tt.wantErr)
		}
	}
}

// pod returns the address of a loopback backend that answers as pod name.
func pod(t *testing.T, name string) string {
	t.Helper()
	return answering(t, http.StatusOK, fmt.Sprintf(`{"service":"backend","pod":%q}`, name))
}

// listing resolves to addrs, as a headless Service's DNS does.
func listing(addrs ...string) resolverFunc {
	ep := discovery.Endpoint{Source: discovery.SourceDNS, Name: "backend-service", Addrs: addrs}
	return func(context.Context) (discovery.Endpoint, error) { return ep, nil }
}

// liveCaller is a backendCaller like the frontend's: a pooled client and a fresh one.
func liveCaller(t *testing.T, r httpclient.Resolver) *backendCaller {
	t.Helper()
	cfg := httpclient.Config{Timeout: 2 * time.Second, AttemptTimeout: time.Second, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
	b := newBackendCaller(httpclient.New(cfg, httpclient.Deps{Resolver: r}))
	b.fresh = httpclient.New(cfg, httpclient.Deps{Resolver: r, Transport: freshTransport(time.Second, nil)})
	b.maxConnAge = 30 * time.Second
	t.Cleanup(b.client.CloseIdleConnections)
	return b
}

// getLive sends GET target to h and decodes a 200 answer.
func getLive(t *testing.T, h http.Handler, target string) (liveView, *httptest.ResponseRecorder) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	var v liveView
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("GET %s: %v\n%s", target, err, rec.Body)
		}
	}
	return v, rec
}

// TestLive checks /api/live's answer: n calls per mode, each with its pod, address, status
// and attempts, and a hint that matches what discovery returned.
func TestLive(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	one := pod(t, "backend-1")
	two := pod(t, "backend-2")
	failing := answering(t, http.StatusServiceUnavailable, "busy")
	tests := []struct {
		name          string
		resolver      httpclient.Resolver
		wantBalancing string
		wantHint      string
		wantPods      map[string]bool
		wantStatus    int
	}{
		{
			name: "one address", resolver: listing(one), wantBalancing: "connection", wantHint: "a ClusterIP Service",
			wantPods: map[string]bool{"backend-1": true}, wantStatus: http.StatusOK,
		},
		{
			name: "one per pod", resolver: listing(one, two), wantBalancing: "client", wantHint: "both views spread",
			wantPods: map[string]bool{"backend-1": true, "backend-2": true}, wantStatus: http.StatusOK,
		},
		{
			name: "failing", resolver: listing(failing), wantBalancing: "connection", wantHint: "a ClusterIP Service",
			wantPods: map[string]bool{"": true}, wantStatus: http.StatusServiceUnavailable,
		},
		{
			name: "nothing found", wantBalancing: "", wantHint: "no address",
			resolver: resolverFunc(func(context.Context) (discovery.Endpoint, error) {
				return discovery.Endpoint{}, discovery.ErrNotFound
			}),
			wantPods: map[string]bool{"": true}, wantStatus: http.StatusServiceUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := handleLive(liveCaller(t, tt.resolver), spreadLimits{}, logger)
			v, rec := getLive(t, h, "/api/live?n=4")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /api/live?n=4 = %d %s, want 200", rec.Code, rec.Body)
			}
			if tt.wantStatus == http.StatusOK && v.Discovery.Name != "backend-service" {
				t.Errorf("discovery %+v, want the name looked up, backend-service", v.Discovery)
			}
			if v.Discovery.Balancing != tt.wantBalancing || !strings.Contains(v.Hint, tt.wantHint) {
				t.Errorf("discovery %+v, hint %q; want balancing %q and a hint with %q", v.Discovery, v.Hint, tt.wantBalancing, tt.wantHint)
			}
			modes := map[string]int{}
			pods := map[string]bool{}
			for _, c := range v.Calls {
				modes[c.Mode]++
				pods[c.Pod] = true
				if c.Status != tt.wantStatus || (c.Pod == "") != (c.Error != "") || c.Attempts < 1 && tt.wantStatus == http.StatusOK {
					t.Errorf("call %+v, want status %d, an error exactly when no pod answered", c, tt.wantStatus)
				}
			}
			if modes[modeFresh] != 4 || modes[modeKeepAlive] != 4 || len(v.Calls) != 8 {
				t.Errorf("calls per mode = %v, want 4 fresh and 4 keepalive", modes)
			}
			if fmt.Sprint(pods) != fmt.Sprint(tt.wantPods) {
				t.Errorf("pods = %v, want %v", pods, tt.wantPods)
			}
		})
	}
}

// closedAddr is a loopback address where nothing listens, so connects are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestLiveRetryMarked: a call that needed a second attempt says so.
func TestLiveRetryMarked(t *testing.T) {
	t.Parallel()
	refused := closedAddr(t)
	h := handleLive(liveCaller(t, listing(refused, pod(t, "backend-1"))), spreadLimits{}, slog.New(slog.DiscardHandler))
	v, rec := getLive(t, h, "/api/live?n=2")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/live = %d %s", rec.Code, rec.Body)
	}
	retried := 0
	for _, c := range v.Calls {
		if c.Pod != "backend-1" || c.Status != http.StatusOK {
			t.Errorf("call %+v, want backend-1's answer", c)
		}
		if c.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Errorf("calls %+v: none retried, want the ones that tried the refusing address first to say so", v.Calls)
	}
}

// TestLiveBudget: a bad query is a 400 with a JSON reason, and a batch beyond the slots is a
// 429 with Retry-After while another is in flight.
func TestLiveBudget(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `{"pod":"gated"}`)
	}))
	t.Cleanup(gated.Close)
	h := handleLive(liveCaller(t, listing(gated.Listener.Addr().String())), spreadLimits{maxInFlight: 1}, slog.New(slog.DiscardHandler))

	for _, q := range []string{"n=0", "n=21", "n=abc", "n=1&n=2", "bogus=1"} {
		_, rec := getLive(t, h, "/api/live?"+q)
		var e struct{ Error string }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); rec.Code != http.StatusBadRequest || err != nil || e.Error == "" {
			t.Errorf("GET /api/live?%s = %d %s, want 400 with a JSON reason", q, rec.Code, rec.Body)
		}
	}

	first := make(chan int, 1)
	go func() {
		_, rec := getLive(t, h, "/api/live?n=1")
		first <- rec.Code
	}()
	<-arrived
	_, rec := getLive(t, h, "/api/live?n=1")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("GET /api/live while one is in flight = %d (Retry-After %q) %s, want 429 with Retry-After",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first GET /api/live = %d, want 200", code)
	}
}

// TestPageLoadsLive: the HTML page loads the live view from the frontend's own files, and its
// policy allows exactly those (no inline script or style).
func TestPageLoadsLive(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writeHTML(rec, http.StatusOK, pageData{Call: &callView{}})
	body := rec.Body.String()
	for _, want := range []string{`<script src="/live.js" defer></script>`, `href="/live.css"`, `id="live"`, `data-mode="fresh"`, `data-mode="keepalive"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page has no %s", want)
		}
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != pageCSP || !strings.Contains(got, "script-src 'self'") || strings.Contains(got, "unsafe-inline") {
		t.Errorf("page CSP = %q, want %q", got, pageCSP)
	}
	for path, file := range map[string][]byte{"live.js": liveJS, "live.css": liveCSS} {
		if len(file) == 0 {
			t.Errorf("%s is empty", path)
		}
	}
}
