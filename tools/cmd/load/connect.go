package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// resolveFlag is -resolve HOST:PORT:ADDR, repeatable, as curl's: connections to HOST:PORT go to
// ADDR:PORT, while the URL, the Host header, TLS's server name and the certificate check keep
// HOST. It lets the harness drive an Ingress by its host name (https://svc2svc.local) at the
// controller's address without a DNS entry or /etc/hosts.
type resolveFlag map[string]string

func (r resolveFlag) String() string { return fmt.Sprint(map[string]string(r)) }

func (r resolveFlag) Set(s string) error {
	host, rest, ok1 := strings.Cut(s, ":")
	port, addr, ok2 := strings.Cut(rest, ":")
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if !ok1 || !ok2 || host == "" || port == "" || net.ParseIP(addr) == nil {
		return fmt.Errorf("want HOST:PORT:ADDR with an IP address, e.g. svc2svc.local:443:10.10.0.2, got %q", s)
	}
	r[net.JoinHostPort(host, port)] = net.JoinHostPort(addr, port)
	return nil
}

// transport builds the harness's own transport when -resolve or -cacert asks for one, nil
// otherwise (vegeta's default then). It is HTTP/1.1 with keep-alive, as vegeta's default.
func transport(resolve resolveFlag, caFile string) (*http.Transport, error) {
	if len(resolve) == 0 && caFile == "" {
		return nil, nil
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("-cacert: %w", err)
		}
		tlsCfg.RootCAs = x509.NewCertPool()
		if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errors.New("-cacert: no PEM certificate in " + caFile)
		}
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := resolve[addr]; ok {
				addr = to
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
	}, nil
}
