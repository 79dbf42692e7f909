package httpserver_test

import (
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
	"github.com/svc2svc/svc2svc/pkg/tlstest"
)

// TestRunTLS serves HTTPS from a TLS_DIR: the probes answer over TLS with the mounted
// certificate, a plain HTTP request is refused, and a renewed certificate is served without a
// restart.
func TestRunTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	leaf := ca.Issue(t, tlstest.ServiceNames("backend-service", "default"))
	dir := tlstest.WriteSecretDir(t, tlstest.Files(leaf, ca))
	rs := start(t, testConfig(t, "TLS_DIR="+dir.Path, "TLS_RELOAD_INTERVAL=10ms"), httpserver.Deps{}, testRoutes)

	bundle, err := tlsdir.Load(tlsdir.Config{Dir: dir.Path})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := bundle.ClientConfig("backend-service")
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	url := strings.Replace(rs.url, "http://", "https://", 1)
	resp, err := (&http.Client{Transport: tr, Timeout: waitLimit}).Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET https /healthz = %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(leaf.Cert.SerialNumber) != 0 {
		t.Errorf("GET https /healthz = %d with TLS %v, want 200 with the mounted certificate", resp.StatusCode, resp.TLS != nil)
	}
	if got := rs.logs.lines("server listening"); len(got) != 1 || got[0]["tls"] != true {
		t.Errorf("server listening logs = %v, want one with tls true", got)
	}

	plain, body := rs.do(t, http.MethodGet, "/healthz", nil, nil)
	if plain.StatusCode != http.StatusBadRequest {
		t.Errorf("GET http /healthz on the TLS port = %d %q, want 400", plain.StatusCode, body)
	}

	// A renewed Secret is served to new connections without a restart.
	renewed := ca.Issue(t, tlstest.ServiceNames("backend-service", "default"))
	dir.Swap(t, tlstest.Files(renewed, ca))
	waitFor(t, "the renewed certificate", func() bool {
		tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: waitLimit}).Get(url + "/healthz")
		if err != nil {
			t.Fatalf("GET https /healthz after the swap = %v", err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Cmp(renewed.Cert.SerialNumber) == 0
	})
}

// TestRunTLSMissing checks that a TLS_DIR without a certificate stops Run before it listens.
func TestRunTLSMissing(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	dir := tlstest.WriteSecretDir(t, map[string][]byte{tlsdir.CAFile: ca.PEM})
	err := httpserver.New(testConfig(t, "TLS_DIR="+dir.Path, "TLS_RELOAD_INTERVAL=10ms"), httpserver.Deps{}, nil).Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "tls.crt") {
		t.Errorf("Run() = %v, want an error naming tls.crt", err)
	}
}

// TestRunTLSHandshakes counts the server's handshakes: N requests over one keep-alive
// connection take one, N requests without keep-alive take N, and a client certificate under
// mutual TLS adds none.
func TestRunTLSHandshakes(t *testing.T) {
	t.Parallel()
	const n = 5
	ca := tlstest.NewCA(t)
	dir := tlstest.WriteSecretDir(t, tlstest.Files(ca.Issue(t, tlstest.ServiceNames("backend-service", "default")), ca))
	clientFiles := tlstest.Files(ca.Issue(t, []string{frontendID}), ca)
	delete(clientFiles, tlsdir.CAFile)
	tests := []struct {
		name      string
		mutual    bool
		keepAlive bool
		want      int64
	}{
		{"https keep-alive", false, true, 1},
		{"https no keep-alive", false, false, n},
		{"mutual TLS keep-alive", true, true, 1},
		{"mutual TLS no keep-alive", true, false, n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := []string{"TLS_DIR=" + dir.Path}
			if tt.mutual {
				env = append(env, "TLS_CLIENT_AUTH=require", "TLS_ALLOWED_CLIENTS="+frontendID)
			}
			obs := &tlsCounts{}
			rs := start(t, testConfig(t, env...), httpserver.Deps{TLSObserver: obs}, testRoutes)
			// The same client certificate either way: presented only when the server asks.
			client, tr, _, _ := mtlsClient(t, ca, maps.Clone(clientFiles))
			tr.DisableKeepAlives = !tt.keepAlive
			url := strings.Replace(rs.url, "http://", "https://", 1) + "/items/1"
			for range n {
				resp, err := client.Get(url)
				if err != nil {
					t.Fatalf("GET /items/1 = %v, want 200", err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /items/1 = %d, want 200", resp.StatusCode)
				}
			}
			// The server counts a handshake before it answers on that connection.
			if got := obs.handshakes.Load(); got != tt.want {
				t.Errorf("handshakes after %d requests = %d, want %d", n, got, tt.want)
			}
			if got := obs.count(httpserver.RefusedIdentity) + obs.count(httpserver.RefusedNoCertificate); got != 0 {
				t.Errorf("refusals = %d, want 0", got)
			}
		})
	}
}
