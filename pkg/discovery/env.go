package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// EnvPrefix returns the prefix of the variables Kubernetes injects for service, by its rule:
// upper case, with '-' (and '.') turned into '_', so "backend-service" gives
// "BACKEND_SERVICE" and the variables BACKEND_SERVICE_SERVICE_HOST and
// BACKEND_SERVICE_SERVICE_PORT.
//
// Kubernetes only ever applies it to Service names, which are DNS-1035 labels (lower-case
// letters, digits and '-', starting with a letter). So that any input still gives a valid
// variable name, EnvPrefix also turns every other character outside [A-Z0-9_] into '_' and
// puts '_' before a leading digit; Kubernetes never produces such names, so they will only
// match variables someone set by hand.
func EnvPrefix(service string) string {
	if service != "" && '0' <= service[0] && service[0] <= '9' {
		return "_" + envName(service)
	}
	return envName(service)
}

// envName applies the character mapping of EnvPrefix, without the leading digit rule:
// Kubernetes appends port names (which may start with a digit) as they are, after
// "_SERVICE_PORT_".
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_':
			return r
		}
		return '_'
	}, s)
}

// envVars returns the names of the host and port variables. <P>_PORT is deliberately not
// among them: it holds a Docker-link style URL ("tcp://10.0.0.1:80"), not a port.
func envVars(prefix, portName string) (hostVar, portVar string) {
	hostVar, portVar = prefix+"_SERVICE_HOST", prefix+"_SERVICE_PORT"
	if portName != "" {
		portVar += "_" + envName(portName)
	}
	return hostVar, portVar
}

// lookupEnv builds the endpoint from the injected variables. The error names every
// variable that is missing or invalid, and the invalid value, so one message says what to fix.
func (r *Resolver) lookupEnv() (Endpoint, error) {
	host, hostErr := r.envValue(r.hostVar, parseHost)
	port, portErr := r.envValue(r.portVar, parsePort)
	if err := joinErrors([]error{hostErr, portErr}); err != nil {
		return Endpoint{}, fmt.Errorf("env: %w", err)
	}
	return Endpoint{Source: SourceEnv, Name: r.prefix, Addrs: []string{net.JoinHostPort(host, port)}}, nil
}

// envValue reads and checks one variable.
func (r *Resolver) envValue(key string, parse func(string) (string, error)) (string, error) {
	v, ok := r.env(key)
	if !ok {
		return "", fmt.Errorf("%s not set", key)
	}
	parsed, err := parse(v)
	if err != nil {
		return "", fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return parsed, nil
}

// parseHost accepts an IP address (what Kubernetes sets: the Service's cluster IP) or a
// host name, and rejects anything a dialer would misread, such as a value with a port,
// brackets, spaces or a URL.
func parseHost(v string) (string, error) {
	if _, err := netip.ParseAddr(v); err != nil && !isHostname(v) {
		return "", errors.New("not an IP address or host name")
	}
	return v, nil
}

// isHostname reports whether v is an RFC 1123 host name. A last label of digits only is
// refused so that a malformed IPv4 address like "10.0.0.256" is not taken for a name.
func isHostname(v string) bool {
	v = strings.TrimSuffix(v, ".")
	if v == "" || len(v) > 253 {
		return false
	}
	labels := strings.Split(v, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '-') {
				return false
			}
		}
	}
	return strings.ContainsFunc(labels[len(labels)-1], func(r rune) bool { return !isDigit(byte(r)) })
}

// parsePort accepts a decimal port 1..65535, digits only (no sign or spaces), and returns
// it in canonical form.
func parsePort(v string) (string, error) {
	errPort := errors.New("not a port number 1..65535")
	if v == "" || len(v) > 5 || strings.ContainsFunc(v, func(r rune) bool { return r > 0x7f || !isDigit(byte(r)) }) {
		return "", errPort
	}
	n, _ := strconv.Atoi(v)
	if n < 1 || n > 65535 {
		return "", errPort
	}
	return strconv.Itoa(n), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
