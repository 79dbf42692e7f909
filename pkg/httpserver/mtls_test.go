package httpserver_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
	"github.com/svc2svc/svc2svc/pkg/tlstest"
)

const (
	frontendID = "spiffe://cluster.local/ns/default/sa/frontend"
	intruderID = "spiffe://cluster.local/ns/default/sa/intruder"
)

// tlsCounts is a TLSObserver that counts handshakes, and refusals by reason.
type tlsCounts struct {
	handshakes atomic.Int64
	mu         sync.Mutex
	n          map[string]int
}

func (r *tlsCounts) TLSHandshake() { r.handshakes.Add(1) }

func (r *tlsCounts) TLSRefused(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[reason]++
}

func (r *tlsCounts) count(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

// mtlsServer runs a server that requires client certificates from ca and admits allowed; its
// /whoami answers the serial number of the client's certificate.
func mtlsServer(t *testing.T, ca *tlstest.CA, allowed string) (*running, *tlsCounts, string) {
	t.Helper()
	leaf := ca.Issue(t, tlstest.ServiceNames("backend-service", "default"))
	dir := tlstest.WriteSecretDir(t, tlstest.Files(leaf, ca))
	obs := &tlsCounts{}
	rs := start(t, testConfig(t, "TLS_DIR="+dir.Path, "TLS_RELOAD_INTERVAL=10ms", "TLS_CLIENT_AUTH=require",
		"TLS_ALLOWED_CLIENTS="+allowed), httpserver.Deps{TLSObserver: obs,
		MetricsHandler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}, func(r chi.Router) {
		r.Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].SerialNumber.String())
		})
	})
	return rs, obs, strings.Replace(rs.url, "http://", "https://", 1)
}

// mtlsClient is an HTTP client that trusts ca and presents what files hold, read through
// tlsdir as the frontend does; the SecretDir lets a test rotate them.
func mtlsClient(t *testing.T, ca *tlstest.CA, files map[string][]byte) (*http.Client, *http.Transport, *tlstest.SecretDir, *tlsdir.Dir) {
	t.Helper()
	files[tlsdir.CAFile] = ca.PEM
	sd := tlstest.WriteSecretDir(t, files)
	d, err := tlsdir.Load(tlsdir.Config{Dir: sd.Path})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.ClientConfig("backend-service")
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitLimit}, tr, sd, d
}

// TestRunMutualTLS checks who gets in under TLS_CLIENT_AUTH=require: an allowed identity
// (a SPIFFE URI or a DNS name) gets 200; another identity of the same CA gets a 403 JSON; no
// certificate, another CA's and an expired one fail the handshake with an alert. Each
// refusal is counted by reason.
func TestRunMutualTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	other := tlstest.NewCA(t)
	rs, obs, url := mtlsServer(t, ca, frontendID+", Frontend.default.svc")

	tests := []struct {
		name       string
		files      map[string][]byte // the client's tls.crt and tls.key; nil for none
		wantStatus int               // 0: the handshake fails
		wantReason string            // the refusal counted; "" for none
	}{
		{"allowed SPIFFE ID", tlstest.Files(ca.Issue(t, []string{frontendID}), ca), http.StatusOK, ""},
		{"allowed DNS name", tlstest.Files(ca.Issue(t, []string{"frontend.default.svc"}), ca), http.StatusOK, ""},
		{"other identity", tlstest.Files(ca.Issue(t, []string{intruderID, "intruder.default.svc"}), ca), http.StatusForbidden, httpserver.RefusedIdentity},
		{"no certificate", map[string][]byte{}, 0, httpserver.RefusedNoCertificate},
		{"another CA", tlstest.Files(other.Issue(t, []string{frontendID}), other), 0, httpserver.RefusedUntrusted},
		{"expired", tlstest.Files(ca.Issue(t, []string{frontendID}, tlstest.Expired()), ca), 0, httpserver.RefusedExpired},
	}
	// Kubelet probes present no certificate: they get the admin port's.
	admin := <-rs.admin
	if resp, body := servicetest.Send(t, rs.client, http.MethodGet, admin+"/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET admin /readyz = %d %s, want 200", resp.StatusCode, body)
	}
	if got := rs.logs.lines("server listening"); len(got) != 1 || got[0]["mutual_tls"] != true {
		t.Errorf("server listening logs = %v, want one with mutual_tls true", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each case reads the refusal counts before and after.
			files := map[string][]byte{}
			for k, v := range tt.files {
				if k != tlsdir.CAFile {
					files[k] = v
				}
			}
			client, _, _, _ := mtlsClient(t, ca, files)
			before := obs.count(tt.wantReason)
			resp, err := client.Get(url + "/whoami")
			switch {
			case tt.wantStatus == 0:
				var op *net.OpError
				if err == nil {
					resp.Body.Close()
					t.Fatalf("GET /whoami = %d, want a failed handshake", resp.StatusCode)
				}
				if !errors.As(err, &op) || op.Op != "remote error" || op.Err.Error() != tls.AlertError(42).Error() {
					t.Errorf("GET /whoami = %v, want a bad_certificate alert", err)
				}
			case err != nil:
				t.Fatalf("GET /whoami = %v, want %d", err, tt.wantStatus)
			default:
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("GET /whoami = %d %s, want %d", resp.StatusCode, body, tt.wantStatus)
				}
				if tt.wantStatus == http.StatusForbidden && !strings.Contains(string(body), `"error":"client certificate identity not allowed"`) {
					t.Errorf("GET /whoami body = %s, want the JSON reason", body)
				}
			}
			if tt.wantReason != "" {
				waitFor(t, tt.wantReason+" counted", func() bool { return obs.count(tt.wantReason) == before+1 })
			}
		})
	}
}

// TestRunMutualTLSRotation checks that a renewed client certificate is presented from the
// next handshake and accepted, without a restart of either side.
func TestRunMutualTLSRotation(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	_, _, url := mtlsServer(t, ca, frontendID)
	first := ca.Issue(t, []string{frontendID})
	client, tr, sd, d := mtlsClient(t, ca, map[string][]byte{tlsdir.CertFile: first.CertPEM, tlsdir.KeyFile: first.KeyPEM})
	whoami := func() string {
		t.Helper()
		resp, err := client.Get(url + "/whoami")
		if err != nil {
			t.Fatalf("GET /whoami = %v, want 200", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /whoami = %d %s, want 200", resp.StatusCode, b)
		}
		return string(b)
	}
	if got := whoami(); got != first.Cert.SerialNumber.String() {
		t.Fatalf("GET /whoami = %s, want the first certificate's serial %s", got, first.Cert.SerialNumber)
	}
	renewed := ca.Issue(t, []string{frontendID})
	sd.Swap(t, map[string][]byte{tlsdir.CertFile: renewed.CertPEM, tlsdir.KeyFile: renewed.KeyPEM, tlsdir.CAFile: ca.PEM})
	// Reload is what the client's Watch does on its next tick.
	if _, err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	if got := whoami(); got != renewed.Cert.SerialNumber.String() {
		t.Errorf("GET /whoami after the swap = %s, want the renewed certificate's serial %s", got, renewed.Cert.SerialNumber)
	}
}
