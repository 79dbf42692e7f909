package httpserver

import (
	"crypto/tls"
	"net"
	"net/http"
	"testing"
)

// TestConnStateUnderTLS checks that the cap follows a connection's state when the server sees
// it as the *tls.Conn over the tracked one, so an idle HTTPS connection is shed as idle.
func TestConnStateUnderTLS(t *testing.T) {
	t.Parallel()
	server, client := net.Pipe()
	defer client.Close()
	lim := newConnLimiter(nil, 10, noConnObserver{})
	tc := lim.admit(server)
	defer tc.Close()
	lim.connState(tls.Server(tc, &tls.Config{}), http.StateIdle)
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if tc.state != http.StateIdle {
		t.Errorf("state after connState(*tls.Conn, idle) = %v, want idle", tc.state)
	}
	if victim, reason := lim.victimLocked(); victim != tc || reason != ShedIdle {
		t.Errorf("victimLocked() = %p %q, want the idle connection %p %q", victim, reason, tc, ShedIdle)
	}
}
