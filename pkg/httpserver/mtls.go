package httpserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/svc2svc/svc2svc/pkg/tlsdir"
)

// TLSObserver is told about every TLS handshake on the public port and every client the
// server refused under mutual TLS (Config.ClientAuth "require"), so that metrics can count
// handshakes, and refusals by reason. It is called from the connection's goroutine, so it
// must be safe for concurrent use. pkg/metrics.HTTPServer implements it.
type TLSObserver interface {
	// TLSHandshake reports one handshake begun: a ClientHello received, for a full or a
	// resumed handshake, whether it then succeeds or not. A handshake is the costly part of
	// TLS (key exchange, signatures, certificate checks); over keep-alive connections there is
	// one per connection, not per request, so handshakes per request near 0 show that the
	// clients reuse their connections.
	TLSHandshake()
	// TLSRefused reports one refused handshake or request: reason is RefusedNoCertificate,
	// RefusedUntrusted, RefusedExpired or RefusedIdentity.
	TLSRefused(reason string)
}

// The reasons a client is refused under mutual TLS. The first three end the handshake with
// a bad_certificate alert: the client has proved nothing, so it gets no HTTP at all. The last
// is a 403 JSON answer: the certificate is ours and valid, so the caller is told, in words
// its logs keep, that it is known but not allowed, which an alert could not tell from an
// untrusted certificate.
const (
	// RefusedNoCertificate is a client that sent no certificate.
	RefusedNoCertificate = "no_certificate"
	// RefusedUntrusted is a certificate that does not chain to TLS_DIR's ca.crt (another CA,
	// self-signed, not for client use).
	RefusedUntrusted = "untrusted"
	// RefusedExpired is a certificate of our CA outside its validity period: a rotation that
	// stopped, or clocks that disagree.
	RefusedExpired = "expired"
	// RefusedIdentity is a valid certificate whose SANs name no identity in
	// Config.AllowedClients; the request gets 403.
	RefusedIdentity = "identity_not_allowed"
)

// noTLSObserver is the TLSObserver of a server given none.
type noTLSObserver struct{}

func (noTLSObserver) TLSHandshake()     {}
func (noTLSObserver) TLSRefused(string) {}

// countHandshakes makes cfg tell the observer of each handshake it begins. GetConfigForClient
// is where crypto/tls reads a ClientHello: once per handshake, full or resumed (the second
// ClientHello after a HelloRetryRequest does not call it again), and its nil, nil answer
// keeps cfg for the connection.
func (s *Server) countHandshakes(cfg *tls.Config) {
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		s.tlsObserver.TLSHandshake()
		return nil, nil
	}
}

// requireClientCert makes cfg ask every client for a certificate and end the handshake of one
// that sends none or one dir's current ca.crt does not vouch for, counting each refusal.
// tls.RequestClientCert rather than RequireAnyClientCert, so that a missing certificate
// reaches VerifyConnection and is counted like the rest.
func (s *Server) requireClientCert(cfg *tls.Config, dir *tlsdir.Dir) error {
	verify, err := dir.ClientVerifier()
	if err != nil {
		return err
	}
	cfg.ClientAuth = tls.RequestClientCert
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		err := verify(cs)
		if err != nil {
			s.tlsObserver.TLSRefused(refusal(err))
		}
		return err
	}
	return nil
}

// refusal names the reason a client verification error stands for.
func refusal(err error) string {
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, tlsdir.ErrNoClientCertificate):
		return RefusedNoCertificate
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return RefusedExpired
	}
	return RefusedUntrusted
}

// refuseIdentity answers 403 to a request whose client certificate names none of allowed
// (Config.AllowedClients), so only the callers it lists get past a certificate the CA signed.
// It runs per request, but reads only the connection's verified certificate: no handshake.
func (s *Server) refuseIdentity(allowed []string) func(http.Handler) http.Handler {
	uris := map[string]bool{}
	dnsNames := map[string]bool{}
	for _, id := range allowed {
		id = strings.TrimSpace(id)
		if strings.Contains(id, "://") {
			uris[id] = true
		} else {
			dnsNames[strings.ToLower(id)] = true
		}
	}
	admitted := func(r *http.Request) bool {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return false // unreachable behind the handshake's check, but never admit by default
		}
		c := r.TLS.PeerCertificates[0]
		for _, u := range c.URIs {
			if uris[u.String()] {
				return true
			}
		}
		for _, d := range c.DNSNames {
			if dnsNames[strings.ToLower(d)] {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if admitted(r) {
				next.ServeHTTP(w, r)
				return
			}
			s.tlsObserver.TLSRefused(RefusedIdentity)
			s.logger.WarnContext(r.Context(), "client identity not allowed", slog.Any("identities", clientIdentities(r)))
			WriteError(w, http.StatusForbidden, "client certificate identity not allowed")
		})
	}
}

// clientIdentities lists the SANs of r's client certificate, for the log of a refusal.
func clientIdentities(r *http.Request) []string {
	ids := []string{}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ids
	}
	c := r.TLS.PeerCertificates[0]
	for _, u := range c.URIs {
		ids = append(ids, u.String())
	}
	return append(ids, c.DNSNames...)
}
