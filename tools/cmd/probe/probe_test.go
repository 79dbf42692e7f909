package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

// hardened answers every probe the way the probes want: security headers, no echoed id, 413
// for large bodies, 400 for a repeated n, 429 beyond one /api/spread at a time, no /metrics.
func hardened() http.Handler {
	spread := make(chan struct{}, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		switch {
		case r.URL.Path == "/metrics":
			http.NotFound(w, r)
		case r.Method == http.MethodPost:
			if _, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			}
		case r.URL.Path == "/api/spread":
			q, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil || len(q["n"]) != 1 {
				http.Error(w, "bad n", http.StatusBadRequest)
				return
			}
			select {
			case spread <- struct{}{}:
				time.Sleep(100 * time.Millisecond)
				<-spread
			default:
				http.Error(w, "busy", http.StatusTooManyRequests)
			}
		}
	})
}

// naive is a server with none of that: it answers 200 to everything, echoes X-Request-Id and
// has no ReadHeaderTimeout.
func naive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
	})
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		handler           http.Handler
		readHeaderTimeout time.Duration
		wantErr           error
		wantMismatches    string
	}{
		{"hardened", hardened(), 300 * time.Millisecond, nil, "\n0 mismatches\n"},
		{"naive", naive(), 0, errMismatch, "\n7 mismatches\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewUnstartedServer(tt.handler)
			srv.Config.ReadHeaderTimeout = tt.readHeaderTimeout
			srv.Start()
			t.Cleanup(srv.Close)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{
				"-target", srv.URL, "-strict", "-idle", "5", "-idle-wait", "100ms",
				"-slowloris", "5", "-read-header-timeout", "300ms", "-spread-n", "3",
			}, &stdout, &stderr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run = %v, want %v\n%s%s", err, tt.wantErr, &stdout, &stderr)
			}
			out := stdout.String()
			if !strings.Contains(out, tt.wantMismatches) {
				t.Errorf("run printed\n%s\nwant a line %q", out, strings.TrimSpace(tt.wantMismatches))
			}
			for _, row := range []string{"\n1 ", "\n9 ", "\n10 "} {
				if !strings.Contains(out, row) {
					t.Errorf("run printed\n%s\nwant a row starting %q", out, strings.TrimSpace(row))
				}
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want error
	}{
		{nil, nil},
		{[]string{"-target", "http://127.0.0.1:8080"}, nil},
		{[]string{"-target", "127.0.0.1:8080"}, cli.ErrUsage},
		{[]string{"-idle", "-1"}, cli.ErrUsage},
		{[]string{"-spread-n", "0"}, cli.ErrUsage},
		{[]string{"extra"}, cli.ErrUsage},
		{[]string{"-h"}, cli.ErrHelp},
	}
	for _, tt := range tests {
		if _, err := parseOptions(tt.args, io.Discard); !errors.Is(err, tt.want) {
			t.Errorf("parseOptions(%q) = %v, want %v", tt.args, err, tt.want)
		}
	}
}
