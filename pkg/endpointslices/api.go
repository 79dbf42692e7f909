package endpointslices

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

// ServiceAccountDir is where Kubernetes mounts a pod's service account token, the cluster's
// CA certificate and the pod's namespace.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ErrNotInCluster is matched (errors.Is) by the error of InCluster when the variables that
// Kubernetes sets in every pod are missing, so a caller can tell a run outside a cluster,
// where DNS alone is expected, from a pod that is set up wrong.
var ErrNotInCluster = errors.New("not running in a kubernetes pod")

// API is how to reach the Kubernetes API server.
type API struct {
	// BaseURL is the server's URL, such as https://10.96.0.1:443.
	BaseURL string
	// Client sends the requests and must trust the server's certificate. It should have
	// no Timeout, which would cut watches short: the Watcher bounds each request itself.
	Client *http.Client
	// Token returns the bearer token to send. It is called before every request, not once,
	// because projected service account tokens are rotated (about hourly) and the kubelet
	// rewrites the file. Nil sends no Authorization header, as for kubectl proxy.
	Token func() (string, error)
}

// InCluster returns the API as a pod sees it: the server from the KUBERNETES_SERVICE_HOST
// and KUBERNETES_SERVICE_PORT variables, the token and CA from dir ("" means
// ServiceAccountDir), and, as its second result, the pod's namespace, a default for
// Config.Namespace. The environment is injected so tests and callers choose it.
func InCluster(env discovery.LookupEnv, dir string) (API, string, error) {
	if dir == "" {
		dir = ServiceAccountDir
	}
	host, _ := env("KUBERNETES_SERVICE_HOST")
	portNum, _ := env("KUBERNETES_SERVICE_PORT")
	if host == "" || portNum == "" {
		return API{}, "", fmt.Errorf("in cluster: %w: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set", ErrNotInCluster)
	}
	token := tokenFile(filepath.Join(dir, "token"))
	if _, err := token(); err != nil {
		return API{}, "", fmt.Errorf("in cluster: %w", err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return API{}, "", fmt.Errorf("in cluster: no cluster ca certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return API{}, "", fmt.Errorf("in cluster: no PEM certificate in %s", filepath.Join(dir, "ca.crt"))
	}
	ns, err := os.ReadFile(filepath.Join(dir, "namespace"))
	if err != nil {
		return API{}, "", fmt.Errorf("in cluster: no pod namespace: %w", err)
	}
	namespace := strings.TrimSpace(string(ns))
	if namespace == "" {
		return API{}, "", fmt.Errorf("in cluster: empty namespace in %s", filepath.Join(dir, "namespace"))
	}
	api := API{
		BaseURL: "https://" + net.JoinHostPort(host, portNum),
		Client:  &http.Client{Transport: newTransport(roots)},
		Token:   token,
	}
	return api, namespace, nil
}

// tokenFile returns a Token func that reads path on every call.
func tokenFile(path string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("no service account token (is automountServiceAccountToken false?): %w", err)
		}
		token := strings.TrimSpace(string(b))
		if token == "" {
			return "", fmt.Errorf("no service account token: %s is empty", path)
		}
		return token, nil
	}
}

// newTransport returns a transport for the API server. Its timeouts bound what precedes the
// response; the HTTP/2 pings find a connection that died silently under a long watch, which
// would otherwise look like a quiet Service until the watch's own deadline.
func newTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   2,
	}
}
