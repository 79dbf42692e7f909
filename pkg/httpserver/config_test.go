package httpserver_test

import (
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config/configtest"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// TestConfigRules checks the bounds and rules config.Parse applies to Config, by the
// variables each environment gets refused for.
func TestConfigRules(t *testing.T) {
	t.Parallel()
	configtest.Refuses[httpserver.Config](t, "defaults", nil)
	configtest.Refuses[httpserver.Config](t, "loopback literals", []string{"LISTEN_HOST=127.0.0.1"})
	configtest.Refuses[httpserver.Config](t, "IPv6 everywhere", []string{"LISTEN_HOST=::", "DRAIN_DELAY=0s", "PORT=0"})
	configtest.Refuses[httpserver.Config](t, "a name needs DNS", []string{"LISTEN_HOST=localhost"}, "LISTEN_HOST")
	configtest.Refuses[httpserver.Config](t, "bracketed IPv6", []string{"LISTEN_HOST=[::1]"}, "LISTEN_HOST")
	configtest.Refuses[httpserver.Config](t, "zero timeouts", []string{"READ_HEADER_TIMEOUT=0", "READ_TIMEOUT=0", "SHUTDOWN_TIMEOUT=0", "WRITE_TIMEOUT=0s", "IDLE_TIMEOUT=0"}, "IDLE_TIMEOUT", "READ_HEADER_TIMEOUT", "READ_TIMEOUT", "SHUTDOWN_TIMEOUT", "WRITE_TIMEOUT")
	configtest.Refuses[httpserver.Config](t, "absurd durations", []string{"WRITE_TIMEOUT=2562047h", "DRAIN_DELAY=1h"}, "DRAIN_DELAY", "WRITE_TIMEOUT")
	configtest.Refuses[httpserver.Config](t, "header timeout longer than the request's", []string{"READ_HEADER_TIMEOUT=20s", "READ_TIMEOUT=10s"}, "READ_HEADER_TIMEOUT")
	configtest.Refuses[httpserver.Config](t, "zero limits", []string{"MAX_HEADER_BYTES=0", "MAX_BODY_BYTES=0"}, "MAX_BODY_BYTES", "MAX_HEADER_BYTES")
	configtest.Refuses[httpserver.Config](t, "mutual TLS", []string{"TLS_DIR=/etc/tls", "TLS_CLIENT_AUTH=require", "TLS_ALLOWED_CLIENTS=spiffe://cluster.local/ns/default/sa/frontend,frontend.default.svc"})
	configtest.Refuses[httpserver.Config](t, "mutual TLS, any client of the CA", []string{"TLS_DIR=/etc/tls", "TLS_CLIENT_AUTH=require", "TLS_ALLOWED_CLIENTS="})
	configtest.Refuses[httpserver.Config](t, "mutual TLS without TLS", []string{"TLS_CLIENT_AUTH=require"}, "TLS_CLIENT_AUTH")
	configtest.Refuses[httpserver.Config](t, "client auth misspelt", []string{"TLS_DIR=/etc/tls", "TLS_CLIENT_AUTH=required"}, "TLS_CLIENT_AUTH")
	configtest.Refuses[httpserver.Config](t, "allowed clients without client auth", []string{"TLS_DIR=/etc/tls", "TLS_ALLOWED_CLIENTS=frontend"}, "TLS_ALLOWED_CLIENTS")
	configtest.Refuses[httpserver.Config](t, "an empty allowed client", []string{"TLS_DIR=/etc/tls", "TLS_CLIENT_AUTH=require", "TLS_ALLOWED_CLIENTS=frontend,,x"}, "TLS_ALLOWED_CLIENTS")
}
