// Package tlstest makes certificates for tests: a CA and leaf certificates it signs, written
// in the layout of a mounted kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt), and swapped
// the way the kubelet swaps one. It lives apart from what ships, as net/http/httptest does:
// make deps-check keeps it out of the service binaries.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// serials numbers every certificate of a test binary uniquely, so a test can tell which
// certificate a connection got.
var serials atomic.Int64

// CA is a certificate authority that signs test certificates.
type CA struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	// PEM is Cert encoded, the content of a ca.crt.
	PEM []byte
	key *ecdsa.PrivateKey
}

// NewCA returns a fresh self-signed CA, valid from an hour ago for a day. It fails t on error.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := GenerateCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// GenerateCA is NewCA for a program that is not a test, such as the load harness, which
// makes certificates for an HTTPS run of the local pair.
func GenerateCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serials.Add(1)),
		Subject:               pkix.Name{CommonName: "svc2svc test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA: %w", err)
	}
	return &CA{Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

// Leaf is a certificate signed by a CA, with its key, PEM-encoded as a Secret holds them.
type Leaf struct {
	// Cert is the certificate; its SerialNumber tells leaves apart.
	Cert *x509.Certificate
	// CertPEM and KeyPEM are the contents of tls.crt and tls.key.
	CertPEM, KeyPEM []byte
}

// LeafOption changes the certificate Issue makes.
type LeafOption func(*x509.Certificate)

// Expired makes the certificate's validity end an hour ago.
func Expired() LeafOption {
	return func(c *x509.Certificate) {
		c.NotBefore = time.Now().Add(-2 * time.Hour)
		c.NotAfter = time.Now().Add(-time.Hour)
	}
}

// Issue signs a server and client certificate for names (DNS names, IP addresses, or URIs
// such as a SPIFFE ID, spiffe://cluster.local/ns/default/sa/frontend), valid from an hour
// ago for a day unless opts say otherwise. It fails t on error.
func (ca *CA) Issue(t testing.TB, names []string, opts ...LeafOption) *Leaf {
	t.Helper()
	l, err := ca.Sign(names, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Sign is Issue for a program that is not a test.
func (ca *CA) Sign(names []string, opts ...LeafOption) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if u, err := url.Parse(n); err == nil && u.Scheme != "" {
			tmpl.URIs = append(tmpl.URIs, u)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	for _, o := range opts {
		o(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue %v: %w", names, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse %v: %w", names, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return &Leaf{
		Cert:    cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// TLSCertificate returns the leaf as a tls.Certificate, for a server made by hand.
func (l *Leaf) TLSCertificate(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	return c
}

// ServiceNames are the names a Service called name in namespace ns is reached by, the SANs
// a served certificate lists.
func ServiceNames(name, ns string) []string {
	return []string{name, name + "." + ns, name + "." + ns + ".svc", name + "." + ns + ".svc.cluster.local"}
}

// SecretDir is a directory laid out as the kubelet mounts a Secret: each file is a symlink
// through "..data", itself a symlink to a timestamped directory holding the real files, so
// that Swap changes every file at once, as the kubelet does on an update.
type SecretDir struct {
	// Path is the directory to mount, e.g. as TLS_DIR.
	Path string
	n    int
}

// WriteSecretDir makes a SecretDir in a temporary directory with files (name to content,
// e.g. "tls.crt"). It fails t on error.
func WriteSecretDir(t testing.TB, files map[string][]byte) *SecretDir {
	t.Helper()
	d := &SecretDir{Path: t.TempDir()}
	d.Swap(t, files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(d.Path, name)); err != nil {
			t.Fatalf("link %s: %v", name, err)
		}
	}
	return d
}

// Swap writes files into a new timestamped directory and points "..data" at it with an
// atomic rename, as the kubelet does; files keep the names WriteSecretDir linked.
func (d *SecretDir) Swap(t testing.TB, files map[string][]byte) {
	t.Helper()
	d.n++
	ts := filepath.Join(d.Path, fmt.Sprintf("..%s.%d", time.Now().Format("2006_01_02_15_04_05"), d.n))
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(ts, name), b, 0o600); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
	}
	tmp := filepath.Join(d.Path, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatalf("link ..data_tmp: %v", err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Path, "..data")); err != nil {
		t.Fatalf("rename ..data: %v", err)
	}
}

// Files returns the files of a kubernetes.io/tls Secret holding leaf and ca's bundle.
func Files(leaf *Leaf, ca *CA) map[string][]byte {
	return map[string][]byte{"tls.crt": leaf.CertPEM, "tls.key": leaf.KeyPEM, "ca.crt": ca.PEM}
}
