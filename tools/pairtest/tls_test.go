package pairtest_test

import (
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/metrics/metricstest"
	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/pkg/tlsdir"
	"github.com/svc2svc/svc2svc/pkg/tlstest"
)

// TestPairTLS runs three backends serving HTTPS from one TLS_DIR (a Secret with the Service's
// names, none of the pods' addresses) and frontends with a CLIENT_TLS_DIR: the one holding the
// right CA calls every pod by its address and shows "https"; the one holding another CA
// answers 502 naming the failure, logs the x509 detail and counts it as tls_error.
func TestPairTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	secret := tlstest.WriteSecretDir(t, tlstest.Files(ca.Issue(t, tlstest.ServiceNames("backend-service", "test")), ca))
	dns := startDNS(t)
	threeBackends(t, dns, "TLS_DIR="+secret.Path)
	bundle := tlstest.WriteSecretDir(t, map[string][]byte{tlsdir.CAFile: ca.PEM})
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", "CLIENT_TLS_DIR="+bundle.Path)

	status, _, body := get(t, fe.URL+"/", "application/json")
	if status != http.StatusOK {
		t.Fatalf("GET / = %d %s, want 200", status, body)
	}
	v := decode[frontendView](t, body)
	if v.Discovery.Scheme != "https" || !strings.HasPrefix(v.Backend.Pod, "backend-") {
		t.Errorf("GET / = %+v, want a backend pod over https", v)
	}
	status, _, body = get(t, fe.URL+"/api/spread?n=30", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"succeeded":30`) {
		t.Errorf("GET /api/spread?n=30 = %d %s, want 30 successes", status, body)
	}

	wrong := tlstest.WriteSecretDir(t, map[string][]byte{tlsdir.CAFile: tlstest.NewCA(t).PEM})
	untrusting := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", "CLIENT_TLS_DIR="+wrong.Path)
	status, _, body = get(t, untrusting.URL+"/", "application/json")
	f := decode[failureBody](t, body)
	if status != http.StatusBadGateway || f.Error != "backend certificate not trusted" {
		t.Errorf("GET / with another CA = %d %+v, want 502 backend certificate not trusted", status, f)
	}
	logged := false
	for _, l := range untrusting.LogLines() {
		if l["msg"] == "backend call failed" && strings.Contains(l["error"].(string), "x509: certificate signed by unknown authority") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("frontend logs = %s, want a backend call failed line with the x509 detail", untrusting.Logs())
	}
	snap := metricstest.Scrape(t, untrusting.AdminURL+"/metrics")
	if n := snap.Value("http_client_calls_total", "source", "dns", "result", "tls_error"); n != 1 {
		t.Errorf("http_client_calls_total{result=tls_error} = %v, want 1", n)
	}
}

// TestPairMutualTLS runs three backends that require a client certificate from their CA and
// admit only the frontend's SPIFFE ID: the frontend presenting it gets 200 from every pod; one
// presenting another identity of the same CA answers 502 naming the 403; one with no
// certificate answers 502 naming the refused certificate. The backends count each refusal.
func TestPairMutualTLS(t *testing.T) {
	t.Parallel()
	const frontendID = "spiffe://cluster.local/ns/test/sa/frontend"
	ca := tlstest.NewCA(t)
	secret := tlstest.WriteSecretDir(t, tlstest.Files(ca.Issue(t, tlstest.ServiceNames("backend-service", "test")), ca))
	dns := startDNS(t)
	backends := threeBackends(t, dns, "TLS_DIR="+secret.Path, "TLS_CLIENT_AUTH=require", "TLS_ALLOWED_CLIENTS="+frontendID)
	frontend := func(files map[string][]byte) *servicetest.Service {
		files[tlsdir.CAFile] = ca.PEM
		dir := tlstest.WriteSecretDir(t, files)
		return startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http", "CLIENT_TLS_DIR="+dir.Path)
	}
	refused := func(reason string) float64 {
		var n float64
		for _, b := range backends {
			n += metricstest.Scrape(t, b.AdminURL+"/metrics").Value("http_server_tls_refused_total", "reason", reason)
		}
		return n
	}

	allowed := frontend(tlstest.Files(ca.Issue(t, []string{frontendID}), ca))
	status, _, body := get(t, allowed.URL+"/api/spread?n=30", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"succeeded":30`) {
		t.Errorf("GET /api/spread?n=30 with the allowed identity = %d %s, want 30 successes", status, body)
	}

	intruder := frontend(tlstest.Files(ca.Issue(t, []string{"spiffe://cluster.local/ns/test/sa/intruder"}), ca))
	status, _, body = get(t, intruder.URL+"/", "application/json")
	f := decode[mtlsFailure](t, body)
	if status != http.StatusBadGateway || f.Error != "backend refused the frontend's identity (403)" || f.BackendStatus != http.StatusForbidden {
		t.Errorf("GET / with another identity = %d %s, want 502 naming the backend's 403", status, body)
	}
	if n := refused("identity_not_allowed"); n != 1 {
		t.Errorf("http_server_tls_refused_total{reason=identity_not_allowed} = %v, want 1", n)
	}

	anonymous := frontend(map[string][]byte{})
	status, _, body = get(t, anonymous.URL+"/", "application/json")
	f = decode[mtlsFailure](t, body)
	if status != http.StatusBadGateway || f.Error != "backend refused our client certificate" || f.Tried.Attempts != 1 {
		t.Errorf("GET / without a client certificate = %d %s, want 502 backend refused our client certificate after 1 attempt", status, body)
	}
	if n := refused("no_certificate"); n != 1 {
		t.Errorf("http_server_tls_refused_total{reason=no_certificate} = %v, want 1", n)
	}
}

// mtlsFailure is failureBody with the backend's status.
type mtlsFailure struct {
	failureBody
	BackendStatus int `json:"backend_status"`
}

// TestPairTLSReloadReported renews the backend's certificate and the frontend's CA bundle the
// way the kubelet does, and checks that each process says so: a "tls files reloaded" log line
// with the old and new serials, tls_reloads_total{result="reloaded"}, and the backend's
// tls_certificate_not_after_timestamp_seconds moving to the new certificate's expiry. A
// broken set is refused, counted and logged, and the renewed certificate goes on serving.
func TestPairTLSReloadReported(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	names := tlstest.ServiceNames("backend-service", "test")
	first := ca.Issue(t, names)
	secret := tlstest.WriteSecretDir(t, tlstest.Files(first, ca))
	dns := startDNS(t)
	be := threeBackends(t, dns, "TLS_DIR="+secret.Path, "TLS_RELOAD_INTERVAL=20ms")[0]
	bundle := tlstest.WriteSecretDir(t, map[string][]byte{tlsdir.CAFile: ca.PEM})
	fe := startFrontend(t, "DISCOVERY_DNS_SERVER="+dns.Addr(), "DISCOVERY_PORT_NAME=http",
		"CLIENT_TLS_DIR="+bundle.Path, "CLIENT_TLS_RELOAD_INTERVAL=20ms")
	if status, _, body := get(t, fe.URL+"/", "application/json"); status != http.StatusOK {
		t.Fatalf("GET / = %d %s, want 200", status, body)
	}
	notAfter := func() float64 {
		return metricstest.Scrape(t, be.AdminURL+"/metrics").Value("tls_certificate_not_after_timestamp_seconds", "dir", secret.Path)
	}
	if got := notAfter(); got != float64(first.Cert.NotAfter.Unix()) {
		t.Errorf("backend tls_certificate_not_after_timestamp_seconds = %v, want %d", got, first.Cert.NotAfter.Unix())
	}

	renewed := ca.Issue(t, names)
	secret.Swap(t, tlstest.Files(renewed, ca))
	bundle.Swap(t, map[string][]byte{tlsdir.CAFile: append(append([]byte{}, ca.PEM...), tlstest.NewCA(t).PEM...)})
	want := opensslSerial(renewed.Cert.SerialNumber)
	waitLog(t, be, func(l map[string]any) bool {
		return l["msg"] == "tls files reloaded" && l["serial"] == want && l["old_serial"] == opensslSerial(first.Cert.SerialNumber)
	})
	waitLog(t, fe, func(l map[string]any) bool { return l["msg"] == "tls files reloaded" && l["ca_changed"] == true })
	for _, s := range []*servicetest.Service{be, fe} {
		if n := metricstest.Scrape(t, s.AdminURL+"/metrics").Value("tls_reloads_total", "result", "reloaded"); n != 1 {
			t.Errorf("tls_reloads_total{result=reloaded} = %v, want 1", n)
		}
	}
	if got := notAfter(); got != float64(renewed.Cert.NotAfter.Unix()) {
		t.Errorf("backend tls_certificate_not_after_timestamp_seconds after renewal = %v, want %d", got, renewed.Cert.NotAfter.Unix())
	}

	secret.Swap(t, map[string][]byte{tlsdir.CertFile: []byte("not PEM"), tlsdir.KeyFile: renewed.KeyPEM, tlsdir.CAFile: ca.PEM})
	waitLog(t, be, func(l map[string]any) bool { return l["msg"] == "tls reload failed" })
	if n := metricstest.Scrape(t, be.AdminURL+"/metrics").Value("tls_reloads_total", "result", "refused"); n < 1 {
		t.Errorf("tls_reloads_total{result=refused} = %v, want >= 1", n)
	}
	if status, _, body := get(t, fe.URL+"/", "application/json"); status != http.StatusOK {
		t.Errorf("GET / after a broken renewal = %d %s, want 200 from the renewed certificate still in use", status, body)
	}
}

// waitLog waits up to 10s for a log line of s that match accepts.
func waitLog(t *testing.T, s *servicetest.Service, match func(map[string]any) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range s.LogLines() {
			if match(l) {
				return
			}
		}
	}
	t.Fatalf("no matching log line in:\n%s", s.Logs())
}

// opensslSerial is n in hex as openssl prints a serial: two digits a byte.
func opensslSerial(n *big.Int) string {
	s := fmt.Sprintf("%X", n)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}
