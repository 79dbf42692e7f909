// Package tlsdir serves and checks TLS with the files of a kubernetes.io/tls Secret mounted as
// a directory (tls.crt, tls.key, ca.crt), and picks up a renewed certificate or CA bundle
// without a restart.
//
// The kubelet updates a mounted Secret by writing the new files into a fresh directory and
// swapping the "..data" symlink to it in one rename, so a reader sees either the old set or
// the new one. Dir polls the files (a few KB, every few seconds; no inotify, which misses the
// swap unless watched just so, and no new dependency) and, when their content changed and
// parses, swaps in the new set atomically. The *tls.Config values it hands out read the
// current set at each handshake (GetCertificate, VerifyConnection), so new connections use the
// new certificate while those already open go on until they close.
package tlsdir

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// The file names of a kubernetes.io/tls Secret (ca.crt is what cert-manager adds).
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
	CAFile   = "ca.crt"
)

const defaultReloadInterval = 5 * time.Second

// Config says where the files are. Services embed it with envPrefix "TLS_" (the server's
// TLS_DIR) or inside another prefix (the client's CLIENT_TLS_DIR). The zero value means no
// TLS: plain HTTP, the default.
type Config struct {
	// Dir is the mounted Secret's directory, e.g. /etc/svc2svc/tls; empty means no TLS.
	Dir string `env:"DIR"`
	// ReloadInterval is how often the files are checked for a change. The kubelet itself
	// takes up to a minute or so to update a mounted Secret, so a few seconds adds little.
	ReloadInterval time.Duration `env:"RELOAD_INTERVAL" envDefault:"5s" min:"10ms" max:"10m"`
}

// Enabled reports whether TLS is configured.
func (c Config) Enabled() bool { return c.Dir != "" }

// files is one consistent set read from the directory; nil fields were absent.
type files struct {
	raw  [3][]byte // tls.crt, tls.key, ca.crt as read, to notice a change
	cert *tls.Certificate
	pool *x509.CertPool
}

// Dir holds the current files of one directory. It is safe for concurrent use.
type Dir struct {
	cfg Config
	cur atomic.Pointer[files]
}

// Load reads the directory once, so a missing or broken certificate stops the process
// before it listens. Either file set may be absent (a client needs only ca.crt, a server
// only tls.crt and tls.key); ServerConfig and ClientConfig say when theirs is missing.
func Load(cfg Config) (*Dir, error) {
	if cfg.ReloadInterval <= 0 {
		cfg.ReloadInterval = defaultReloadInterval
	}
	if !cfg.Enabled() {
		return nil, errors.New("tls dir: none given") // "" would read the working directory
	}
	d := &Dir{cfg: cfg}
	f, err := read(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if f.cert == nil && f.pool == nil {
		return nil, fmt.Errorf("tls dir %s: neither %s and %s nor %s", cfg.Dir, CertFile, KeyFile, CAFile)
	}
	d.cur.Store(f)
	return d, nil
}

// leaf is the parsed tls.crt (tls.X509KeyPair fills Leaf since Go 1.23), or nil.
func (f *files) leaf() *x509.Certificate {
	if f.cert == nil {
		return nil
	}
	return f.cert.Leaf
}

// serial is tls.crt's serial number in hex, as `openssl x509 -serial` prints it (two digits
// a byte, so a leading zero stays), so a log line can be matched against openssl's output;
// "" without one.
func (f *files) serial() string {
	l := f.leaf()
	if l == nil {
		return ""
	}
	s := fmt.Sprintf("%X", l.SerialNumber)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

// notAfter is the end of tls.crt's validity; zero without one.
func (f *files) notAfter() time.Time {
	if l := f.leaf(); l != nil {
		return l.NotAfter
	}
	return time.Time{}
}

// read reads and parses the files of dir.
func read(dir string) (*files, error) {
	f := &files{}
	for i, name := range []string{CertFile, KeyFile, CAFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tls dir: %w", err)
		}
		f.raw[i] = b
	}
	switch {
	case f.raw[0] != nil && f.raw[1] != nil:
		c, err := tls.X509KeyPair(f.raw[0], f.raw[1])
		if err != nil {
			return nil, fmt.Errorf("tls dir %s: %s and %s: %w", dir, CertFile, KeyFile, err)
		}
		f.cert = &c
	case f.raw[0] != nil || f.raw[1] != nil:
		return nil, fmt.Errorf("tls dir %s: %s and %s go together", dir, CertFile, KeyFile)
	}
	if f.raw[2] != nil {
		f.pool = x509.NewCertPool()
		if !f.pool.AppendCertsFromPEM(f.raw[2]) {
			return nil, fmt.Errorf("tls dir %s: %s holds no PEM certificate", dir, CAFile)
		}
	}
	return f, nil
}

// Observer is told what Watch sees, so a renewal shows on a dashboard and a certificate about
// to expire can raise an alert (metrics.TLSFiles implements it).
type Observer interface {
	// ObserveFiles reports the set in use in dir: at Watch's start, then after each reload.
	// notAfter is the end of tls.crt's validity, zero for a directory with only ca.crt.
	ObserveFiles(dir string, notAfter time.Time)
	// ObserveReload reports a changed set: swapped in (err nil) or refused (the current one
	// stays).
	ObserveReload(dir string, err error)
}

// Watch checks the files every Config.ReloadInterval until ctx is done, and swaps in a
// changed set once it parses and still has what the first one had (a certificate, a CA
// bundle). Each swap is logged at info with the old and new serials, so "did the pod pick up
// the renewed certificate?" has an answer in its log; a refused set is logged as an error and
// ignored: the current one keeps serving, and the next check tries again. obs may be nil.
func (d *Dir) Watch(ctx context.Context, logger *slog.Logger, obs Observer) {
	if obs == nil {
		obs = noObserver{}
	}
	obs.ObserveFiles(d.cfg.Dir, d.cur.Load().notAfter())
	tick := time.NewTicker(d.cfg.ReloadInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		old := d.cur.Load()
		switch changed, err := d.Reload(); {
		case err != nil:
			obs.ObserveReload(d.cfg.Dir, err)
			logger.ErrorContext(ctx, "tls reload failed", slog.String("dir", d.cfg.Dir), slog.Any("error", err))
		case changed:
			cur := d.cur.Load()
			obs.ObserveReload(d.cfg.Dir, nil)
			obs.ObserveFiles(d.cfg.Dir, cur.notAfter())
			logger.InfoContext(ctx, "tls files reloaded", slog.String("dir", d.cfg.Dir),
				slog.String("old_serial", old.serial()), slog.String("serial", cur.serial()),
				slog.Time("not_after", cur.notAfter()), slog.Bool("ca_changed", !bytes.Equal(old.raw[2], cur.raw[2])))
		}
	}
}

// Reload reads the files now and swaps them in if they changed, reporting whether it did;
// Watch calls it on every tick. It returns why a changed set was refused.
func (d *Dir) Reload() (changed bool, err error) {
	old := d.cur.Load()
	f, err := read(d.cfg.Dir)
	if err != nil {
		return false, err
	}
	if bytes.Equal(f.raw[0], old.raw[0]) && bytes.Equal(f.raw[1], old.raw[1]) && bytes.Equal(f.raw[2], old.raw[2]) {
		return false, nil
	}
	if (old.cert != nil && f.cert == nil) || (old.pool != nil && f.pool == nil) {
		return false, fmt.Errorf("tls dir %s: a file went missing", d.cfg.Dir)
	}
	d.cur.Store(f)
	return true, nil
}

// noObserver is the Observer of a Watch given none.
type noObserver struct{}

func (noObserver) ObserveFiles(string, time.Time) {}
func (noObserver) ObserveReload(string, error)    {}

// ServerConfig returns a server configuration that presents the current tls.crt at every
// handshake. It offers HTTP/1.1 only: the servers here cap and shed connections one request
// stream at a time, and the clients balance and recycle per connection.
func (d *Dir) ServerConfig() (*tls.Config, error) {
	if d.cur.Load().cert == nil {
		return nil, fmt.Errorf("tls dir %s: no %s and %s to serve", d.cfg.Dir, CertFile, KeyFile)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return d.cur.Load().cert, nil
		},
	}, nil
}

// ErrNoClientCertificate is what ClientVerifier's check returns for a client that sent no
// certificate, so a server can count that apart from an untrusted one.
var ErrNoClientCertificate = errors.New("tls: client sent no certificate")

// ClientVerifier returns a check of a client's certificate chain against the current ca.crt,
// for a server that requires client certificates (mutual TLS): set it as the server's
// tls.Config.VerifyConnection with ClientAuth tls.RequestClientCert. crypto/tls's own
// verification (RequireAndVerifyClientCert) reads a fixed ClientCAs, so a renewed bundle
// would need a restart; this one reads the bundle at each handshake, as ClientConfig does.
// Its errors are ErrNoClientCertificate and a *tls.CertificateVerificationError wrapping the
// x509 reason; either makes the server end the handshake with a bad_certificate alert.
func (d *Dir) ClientVerifier() (func(tls.ConnectionState) error, error) {
	if d.cur.Load().pool == nil {
		return nil, fmt.Errorf("tls dir %s: no %s to verify clients with", d.cfg.Dir, CAFile)
	}
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return ErrNoClientCertificate
		}
		return verifyChain(cs.PeerCertificates, d.cur.Load().pool, "", x509.ExtKeyUsageClientAuth)
	}, nil
}

// ClientConfig returns a client configuration that verifies the server's chain against the
// current ca.crt and its name against serverName, whatever address was dialled: a pod IP
// found through a headless Service or EndpointSlices is checked for the Service's name, so
// the certificate needs no pod IPs. (When tls.crt and tls.key are present, they are the
// client certificate presented to a server that asks for one: mutual TLS; re-read like the
// rest, so a renewed client certificate is used from the next handshake.)
//
// The standard verification reads a fixed RootCAs, so it is turned off
// (InsecureSkipVerify) and VerifyConnection does the same checks, against the current
// bundle; its errors are the standard ones (x509.UnknownAuthorityError, x509.HostnameError,
// x509.CertificateInvalidError) in a *tls.CertificateVerificationError.
func (d *Dir) ClientConfig(serverName string) (*tls.Config, error) {
	if d.cur.Load().pool == nil {
		return nil, fmt.Errorf("tls dir %s: no %s to verify servers with", d.cfg.Dir, CAFile)
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		InsecureSkipVerify: true, // VerifyConnection verifies, with the current bundle
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verify(cs, d.cur.Load().pool)
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := d.cur.Load().cert; c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil
		},
	}, nil
}

// verify checks the server's chain against roots and its name against cs.ServerName, as
// crypto/tls would with a fixed RootCAs.
func verify(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: server sent no certificate")
	}
	return verifyChain(cs.PeerCertificates, roots, cs.ServerName, x509.ExtKeyUsageServerAuth)
}

// verifyChain checks certs[0] against roots through the intermediates that follow it, for
// usage, and for dnsName unless it is empty (a client is checked for its identity later, by
// whoever decides which identities are allowed).
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, dnsName string, usage x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		DNSName:       dnsName,
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}
