package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/dnstest"
	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

// closedPort returns a loopback address nothing listens on: connects to it are refused.
func closedPort(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		_ = pc.Close()
		return addr
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func startDNS(t *testing.T, mode dnstest.Mode) string {
	t.Helper()
	srv, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.SetA("backend-service.default.svc.cluster.local.", "10.96.0.20")
	srv.SetMode(mode)
	return srv.Addr()
}

func TestRun(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	}()
	const name = "backend-service.default.svc.cluster.local."
	tests := []struct {
		name       string
		dnsServer  string
		check      string
		wantResult string
		wantDetail string
	}{
		{"tcp listening", "", "x=tcp:" + ln.Addr().String(), reached, ""},
		{"tcp closed", "", "x=tcp:" + closedPort(t, "tcp"), refused, ""},
		{"dns answers", startDNS(t, dnstest.ModeAnswer), "x=dns:" + name, reached, "10.96.0.20"},
		{"dns not found", startDNS(t, dnstest.ModeAnswer), "x=dns:nothing.default.svc.cluster.local.", reached, "answered: not found"},
		{"dns dropped", startDNS(t, dnstest.ModeNoAnswer), "x=dns:" + name, timeout, ""},
		{"dns rejected", closedPort(t, "udp"), "x=dns:" + name, refused, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-settle", "0s", "-wait", "300ms", "-interval", "100ms", "-dial-timeout", "200ms"}
			if tt.dnsServer != "" {
				args = append(args, "-dns-server", tt.dnsServer)
			}
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), append(args, tt.check), &stdout, &stderr); err != nil {
				t.Fatalf("run(%q) = %v, want nil\n%s", tt.check, err, &stderr)
			}
			var r result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("run(%q) printed %q: %v", tt.check, &stdout, err)
			}
			if r.Result != tt.wantResult || (tt.wantDetail != "" && r.Detail != tt.wantDetail) {
				t.Errorf("run(%q) = %+v, want result %q detail %q", tt.check, r, tt.wantResult, tt.wantDetail)
			}
			// A check that gets through stops at once; one that does not tries until -wait.
			if (r.Result == reached) != (r.Tries == 1) {
				t.Errorf("run(%q) = %+v after %d tries", tt.check, r, r.Tries)
			}
		})
	}
}

func TestRunOrderAndSettle(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	start := time.Now()
	err := run(context.Background(), []string{"-settle", "200ms", "-wait", "0s",
		"b=tcp:" + closedPort(t, "tcp"), "a=tcp:" + closedPort(t, "tcp")}, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("run returned after %v, want at least -settle 200ms", d)
	}
	dec := json.NewDecoder(&stdout)
	for _, want := range []string{"b", "a"} {
		var r result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if r.Name != want || r.Tries != 1 {
			t.Errorf("result %+v, want name %q after 1 try", r, want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want error
	}{
		{[]string{"a=tcp:10.0.0.1:80", "b=dns:kubernetes.default."}, nil},
		{[]string{"-settle", "0s", "a=tcp:[::1]:80"}, nil},
		{nil, cli.ErrUsage},
		{[]string{"a=tcp:10.0.0.1"}, cli.ErrUsage},
		{[]string{"a=udp:10.0.0.1:53"}, cli.ErrUsage},
		{[]string{"a=dns:"}, cli.ErrUsage},
		{[]string{"tcp:10.0.0.1:80"}, cli.ErrUsage},
		{[]string{"=tcp:10.0.0.1:80"}, cli.ErrUsage},
		{[]string{"-interval", "0s", "a=tcp:10.0.0.1:80"}, cli.ErrUsage},
		{[]string{"-h"}, cli.ErrHelp},
	}
	for _, tt := range tests {
		_, err := parseOptions(tt.args, io.Discard)
		if !errors.Is(err, tt.want) {
			t.Errorf("parseOptions(%q) = %v, want %v", tt.args, err, tt.want)
		}
	}
}
