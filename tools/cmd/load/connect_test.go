package main

import (
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolveAndCACert drives a real TLS server on loopback by a host name that no resolver
// knows, as the e2e drives https://svc2svc.local through the Ingress's address: -resolve sends
// the connections to loopback, -cacert checks the certificate for that name, and the Host
// header keeps the name. Without -cacert every request fails the certificate check.
func TestResolveAndCACert(t *testing.T) {
	t.Parallel()
	hosts := make(chan string, 1000)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hosts <- r.Host:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"backend":{"pod":"backend-1"}}`))
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	// httptest's certificate is its own CA and names example.com.
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	target := "https://example.com:" + port
	resolve := "example.com:" + port + ":127.0.0.1"

	jsonPath := filepath.Join(dir, "ok.json")
	stdout, stderr, err := runLoad(t, nil, "-target", target, "-resolve", resolve, "-cacert", ca,
		"-rate", "50", "-duration", "300ms", "-json", jsonPath)
	if err != nil {
		t.Fatalf("load -resolve -cacert = %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if r := readReport(t, jsonPath); r.Requests == 0 || r.Succeeded != r.Requests || r.ByPod["backend-1"] != r.Requests {
		t.Errorf("load -resolve -cacert: %d of %d succeeded, by_pod %v; want all from backend-1", r.Succeeded, r.Requests, r.ByPod)
	}
	if h := <-hosts; h != "example.com:"+port {
		t.Errorf("the server saw Host %q, want example.com:%s", h, port)
	}

	jsonPath = filepath.Join(dir, "untrusted.json")
	_, _, err = runLoad(t, nil, "-target", target, "-resolve", resolve, "-rate", "20", "-duration", "200ms", "-json", jsonPath)
	r := readReport(t, jsonPath)
	if err == nil || r.Succeeded != 0 || len(r.NonOK) == 0 || !strings.Contains(r.NonOK[0].Error, "certificate") {
		t.Errorf("load -resolve without -cacert = %v, %d of %d succeeded (%+v); want every request refused for the certificate",
			err, r.Succeeded, r.Requests, r.NonOK[:min(1, len(r.NonOK))])
	}
}

func TestBadConnectOptions(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-resolve", "svc2svc.local:443"},
		{"-resolve", "svc2svc.local:443:not-an-ip"},
		{"-resolve", ":443:10.10.0.2"},
		{"-bench-compare", "-cacert", "ca.crt"},
	} {
		_, stderr, err := runLoad(t, nil, args...)
		if err == nil || stderr == "" {
			t.Errorf("load %q = %v with stderr %q, want a usage error that says why", args, err, stderr)
		}
	}
	if _, _, err := runLoad(t, nil, "-target", "https://a.local", "-cacert", filepath.Join(t.TempDir(), "missing.crt")); err == nil ||
		!strings.Contains(err.Error(), "-cacert") {
		t.Errorf("load -cacert missing.crt = %v, want an error naming -cacert", err)
	}
}
