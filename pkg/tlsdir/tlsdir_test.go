package tlsdir_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/tlsdir"
	"github.com/svc2svc/svc2svc/pkg/tlstest"
)

const service = "backend-service"

// serve runs an HTTPS server on loopback with d's certificate and returns its address.
func serve(t *testing.T, d *tlsdir.Dir) string {
	t.Helper()
	cfg, err := d.ServerConfig()
	if err != nil {
		t.Fatalf("ServerConfig() = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// client returns a keep-alive client that verifies servers with d as Service.
func client(t *testing.T, d *tlsdir.Dir) *http.Client {
	t.Helper()
	cfg, err := d.ClientConfig(service)
	if err != nil {
		t.Fatalf("ClientConfig() = %v", err)
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// get calls addr and returns the serial of the certificate the connection saw, and whether
// the connection was reused.
func get(t *testing.T, c *http.Client, addr string) (serial string, reused bool, err error) {
	t.Helper()
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, "https://"+addr+"/", nil)
	resp, err := c.Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.TLS.PeerCertificates[0].SerialNumber.String(), reused, nil
}

func load(t *testing.T, dir string, every time.Duration) *tlsdir.Dir {
	t.Helper()
	d, err := tlsdir.Load(tlsdir.Config{Dir: dir, ReloadInterval: every})
	if err != nil {
		t.Fatalf("Load(%s) = %v", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Watch(ctx, slog.New(slog.DiscardHandler), nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// TestRotation swaps the server's Secret directory the way the kubelet does: new connections
// get the new certificate, and the keep-alive connection opened before goes on working.
func TestRotation(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	old := ca.Issue(t, tlstest.ServiceNames(service, "default"))
	secret := tlstest.WriteSecretDir(t, tlstest.Files(old, ca))
	addr := serve(t, load(t, secret.Path, 10*time.Millisecond))
	bundle := tlstest.WriteSecretDir(t, map[string][]byte{tlsdir.CAFile: ca.PEM})
	clientDir := load(t, bundle.Path, time.Hour)
	kept := client(t, clientDir)

	if serial, _, err := get(t, kept, addr); err != nil || serial != old.Cert.SerialNumber.String() {
		t.Fatalf("first GET: serial %s, %v; want %s", serial, err, old.Cert.SerialNumber)
	}
	renewed := ca.Issue(t, tlstest.ServiceNames(service, "default"))
	secret.Swap(t, tlstest.Files(renewed, ca))

	want := renewed.Cert.SerialNumber.String()
	fresh := client(t, clientDir)
	for deadline := time.Now().Add(10 * time.Second); ; {
		fresh.Transport.(*http.Transport).CloseIdleConnections()
		serial, _, err := get(t, fresh, addr)
		if err != nil {
			t.Fatalf("GET on a new connection: %v", err)
		}
		if serial == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new connection got serial %s after the swap, want %s", serial, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	serial, reused, err := get(t, kept, addr)
	if err != nil || !reused || serial != old.Cert.SerialNumber.String() {
		t.Errorf("GET on the old connection: serial %s, reused %v, %v; want %s on the reused connection", serial, reused, err, old.Cert.SerialNumber)
	}
}

// TestCABundleRotation moves the server to a new CA: the client refuses it until its own
// ca.crt, swapped in place, lists the new CA.
func TestCABundleRotation(t *testing.T) {
	t.Parallel()
	oldCA, newCA := tlstest.NewCA(t), tlstest.NewCA(t)
	leaf := newCA.Issue(t, []string{service})
	addr := serve(t, load(t, tlstest.WriteSecretDir(t, tlstest.Files(leaf, newCA)).Path, time.Hour))
	bundle := tlstest.WriteSecretDir(t, map[string][]byte{tlsdir.CAFile: oldCA.PEM})
	d := load(t, bundle.Path, time.Hour)
	c := client(t, d)

	_, _, err := get(t, c, addr)
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("GET with the old bundle = %v, want a *tls.CertificateVerificationError", err)
	}
	bundle.Swap(t, map[string][]byte{tlsdir.CAFile: append(append([]byte{}, oldCA.PEM...), newCA.PEM...)})
	if changed, err := d.Reload(); err != nil || !changed {
		t.Fatalf("Reload() = %v, %v; want true, nil", changed, err)
	}
	if _, _, err := get(t, c, addr); err != nil {
		t.Errorf("GET with the new bundle = %v, want nil", err)
	}
}

// TestLoad checks what Load and the configurations refuse, so a bad mount stops the process
// before it listens.
func TestLoad(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	leaf := ca.Issue(t, []string{service})
	tests := []struct {
		name               string
		files              map[string][]byte
		loadErr, srv, clnt bool
	}{
		{"all", tlstest.Files(leaf, ca), false, true, true},
		{"ca only", map[string][]byte{tlsdir.CAFile: ca.PEM}, false, false, true},
		{"key pair only", map[string][]byte{tlsdir.CertFile: leaf.CertPEM, tlsdir.KeyFile: leaf.KeyPEM}, false, true, false},
		{"cert without key", map[string][]byte{tlsdir.CertFile: leaf.CertPEM}, true, false, false},
		{"empty", map[string][]byte{}, true, false, false},
		{"ca not PEM", map[string][]byte{tlsdir.CAFile: []byte("nope")}, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := tlsdir.Load(tlsdir.Config{Dir: tlstest.WriteSecretDir(t, tt.files).Path})
			if (err != nil) != tt.loadErr {
				t.Fatalf("Load() = %v, want error %v", err, tt.loadErr)
			}
			if err != nil {
				return
			}
			if _, err := d.ServerConfig(); (err == nil) != tt.srv {
				t.Errorf("ServerConfig() = %v, want usable %v", err, tt.srv)
			}
			if _, err := d.ClientConfig(service); (err == nil) != tt.clnt {
				t.Errorf("ClientConfig() = %v, want usable %v", err, tt.clnt)
			}
		})
	}
}
