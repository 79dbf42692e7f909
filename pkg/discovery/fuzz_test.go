package discovery_test

import (
	"errors"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/svc2svc/svc2svc/pkg/discovery"
)

var (
	envVarName  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	dns1035     = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	hostnameish = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)
)

// FuzzEnvPrefix checks that any input gives a valid variable name, one character per input
// character, and Kubernetes' own result for real Service names.
func FuzzEnvPrefix(f *testing.F) {
	for _, s := range []string{"backend-service", "my.svc", "Mixed-Case", "9lives", "", "ünï", "a\xffb", "_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, service string) {
		got := discovery.EnvPrefix(service)
		if service == "" {
			if got != "" {
				t.Errorf("EnvPrefix(%q) = %q, want \"\"", service, got)
			}
			return
		}
		if !envVarName.MatchString(got) {
			t.Errorf("EnvPrefix(%q) = %q, want a valid variable name", service, got)
		}
		want := utf8.RuneCountInString(service)
		if service[0] >= '0' && service[0] <= '9' {
			want++
		}
		if len(got) != want {
			t.Errorf("EnvPrefix(%q) = %q, %d characters, want %d", service, got, len(got), want)
		}
		if again := discovery.EnvPrefix(got); again != got {
			t.Errorf("EnvPrefix(%q) = %q, want it unchanged (%q is already a prefix)", got, again, got)
		}
		if dns1035.MatchString(service) {
			if k8s := strings.ToUpper(strings.ReplaceAll(service, "-", "_")); got != k8s {
				t.Errorf("EnvPrefix(%q) = %q, want %q as Kubernetes makes it", service, got, k8s)
			}
		}
	})
}

// FuzzEnvEndpoint feeds arbitrary variable values to Resolve (DNS skipped) and checks that
// it either builds an address from exactly those values or fails with ErrNotFound naming
// the variable, and never reads <P>_PORT.
func FuzzEnvEndpoint(f *testing.F) {
	f.Add("backend-service", "", "10.96.0.10", "80")
	f.Add("backend-service", "http", "fd00::10", "8080")
	f.Add("db", "", "db.example.com.", "05432")
	f.Add("backend-service", "http", "10.96.0.10:80", "tcp://10.96.0.10:80")
	f.Add("backend-service", "", "", "65536")
	f.Add("9svc", "Metrics", "[::1]", "-1")
	f.Fuzz(func(t *testing.T, service, portName, host, port string) {
		prefix := discovery.EnvPrefix(service)
		env := func(key string) (string, bool) {
			switch {
			case key == prefix+"_PORT":
				t.Errorf("Resolve() read %s, a tcp:// URL rather than a port", key)
			case key == prefix+"_SERVICE_HOST":
				return host, true
			case strings.HasPrefix(key, prefix+"_SERVICE_PORT"):
				return port, true
			}
			return "", false
		}
		r := discovery.New(discovery.Config{Service: service, PortName: portName, SkipDNS: true}, nil, env)
		ep, err := resolve(t, r)
		if err != nil {
			if !errors.Is(err, discovery.ErrNotFound) {
				t.Errorf("Resolve() = %v, want an error wrapping ErrNotFound", err)
			}
			if service != "" && !strings.Contains(err.Error(), prefix+"_SERVICE_") {
				t.Errorf("Resolve() = %v, want the error to name the variable", err)
			}
			return
		}
		if ep.Source != discovery.SourceEnv || ep.Name != prefix || len(ep.Addrs) != 1 {
			t.Fatalf("Resolve() = %+v, want one env address under %s", ep, prefix)
		}
		gotHost, gotPort, err := net.SplitHostPort(ep.Addrs[0])
		if err != nil || gotHost != host {
			t.Errorf("Resolve() address %q has host %q (%v), want %q", ep.Addrs[0], gotHost, err, host)
		}
		if _, ipErr := netip.ParseAddr(host); ipErr != nil && !hostnameish.MatchString(host) {
			t.Errorf("Resolve() accepted host %q, neither an IP address nor a host name", host)
		}
		n, err := strconv.Atoi(port)
		if p, _ := strconv.Atoi(gotPort); err != nil || n < 1 || n > 65535 || p != n || strings.ContainsAny(port, "+- ") {
			t.Errorf("Resolve() accepted port %q as %q, want only 1..65535", port, gotPort)
		}
	})
}
