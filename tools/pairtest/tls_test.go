package pairtest_test

import (
	"net/http"
	"strings"
	"testing"

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
