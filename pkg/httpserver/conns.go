package httpserver

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// ConnObserver is told about the server's connections and its cap on them, so that metrics
// can show how close the server is to the cap and what the cap cost. It is called from the
// accepting goroutine and from connections' goroutines, so it must be safe for concurrent use.
// pkg/metrics.HTTPServer implements it.
type ConnObserver interface {
	// ConnLimit reports the cap (Config.MaxConns), once, before the first connection.
	ConnLimit(n int)
	// ConnOpened reports an accepted connection; ConnClosed the end of one, whoever closed it.
	ConnOpened()
	// ConnClosed reports a connection that was open and is now closed.
	ConnClosed()
	// ConnShed reports a connection closed by the server to stay within the cap: reason is
	// ShedIdle, ShedNew or ShedRefused.
	ConnShed(reason string)
}

// The reasons a connection is shed at the cap, in the order they are tried.
const (
	// ShedIdle is a keep-alive connection waiting for its next request, closed to make room:
	// the cheapest to lose, since its client reconnects (and Go's, for one, retries an
	// idempotent request on it).
	ShedIdle = "idle"
	// ShedNew is a connection that has not sent a whole request header yet (a slow or
	// slowloris client), the oldest first, closed to make room when none is idle.
	ShedNew = "new"
	// ShedRefused is a new connection closed at once because every open one is busy with a
	// request.
	ShedRefused = "refused"
)

// connLimiter caps the connections a listener hands to http.Server. Unlike
// golang.org/x/net/netutil.LimitListener, which stops accepting at the cap and so leaves a
// well-behaved client queued behind the flood in the kernel's accept queue, it keeps
// accepting and makes room by closing what costs clients least: the least recently used idle
// keep-alive connection, else the oldest one that has not finished its request headers, else
// the newcomer. Connections running a request are never closed. So the server holds at most
// limit connections (bounded memory) and a client that sends a request promptly gets in.
type connLimiter struct {
	net.Listener
	limit int
	obs   ConnObserver

	mu    sync.Mutex
	conns list.List // *trackedConn: front = next to shed among its state
}

// trackedConn is one connection under the cap, with the state http.Server last reported.
type trackedConn struct {
	net.Conn
	lim   *connLimiter
	elem  *list.Element  // nil once removed; guarded by lim.mu
	state http.ConnState // guarded by lim.mu
}

func newConnLimiter(ln net.Listener, limit int, obs ConnObserver) *connLimiter {
	obs.ConnLimit(limit)
	return &connLimiter{Listener: ln, limit: limit, obs: obs}
}

// Accept returns the next connection within the cap, shedding another or the newcomer to
// stay within it.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// admit tracks c, closing a victim first when at the cap; it returns nil (and closes c)
// when nothing may be shed.
func (l *connLimiter) admit(c net.Conn) *trackedConn {
	l.mu.Lock()
	var victim *trackedConn
	reason := ShedRefused
	if l.conns.Len() >= l.limit {
		victim, reason = l.victimLocked()
		if victim == nil {
			l.mu.Unlock()
			_ = c.Close()
			l.obs.ConnShed(ShedRefused)
			return nil
		}
		l.removeLocked(victim)
	}
	tc := &trackedConn{Conn: c, lim: l, state: http.StateNew}
	tc.elem = l.conns.PushBack(tc)
	l.mu.Unlock()
	if victim != nil {
		// Closing unblocks the read the server's goroutine waits in; it then closes its
		// trackedConn, which is already out of the count.
		_ = victim.Conn.Close()
		l.obs.ConnShed(reason)
		l.obs.ConnClosed()
	}
	l.obs.ConnOpened()
	return tc
}

// victimLocked picks the connection to shed: the least recently used idle one, else the
// oldest new one, else none.
func (l *connLimiter) victimLocked() (*trackedConn, string) {
	var oldestNew *trackedConn
	for e := l.conns.Front(); e != nil; e = e.Next() {
		tc := e.Value.(*trackedConn)
		switch tc.state {
		case http.StateIdle:
			return tc, ShedIdle
		case http.StateNew:
			if oldestNew == nil {
				oldestNew = tc
			}
		}
	}
	if oldestNew != nil {
		return oldestNew, ShedNew
	}
	return nil, ""
}

func (l *connLimiter) removeLocked(tc *trackedConn) {
	l.conns.Remove(tc.elem)
	tc.elem = nil
}

// connState is http.Server.ConnState: it keeps each connection's state for victimLocked and
// moves a connection that turns idle to the back, so the front is the least recently used.
func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	if tlsConn, ok := c.(*tls.Conn); ok {
		c = tlsConn.NetConn() // with TLS, the server sees the *tls.Conn over ours
	}
	tc, ok := c.(*trackedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tc.state = state
	if state == http.StateIdle && tc.elem != nil {
		l.conns.MoveToBack(tc.elem)
	}
}

// Close closes the connection and, the first time, takes it out of the count.
func (tc *trackedConn) Close() error {
	tc.lim.mu.Lock()
	counted := tc.elem != nil
	if counted {
		tc.lim.removeLocked(tc)
	}
	tc.lim.mu.Unlock()
	if counted {
		tc.lim.obs.ConnClosed()
	}
	return tc.Conn.Close()
}

// noConnObserver is the ConnObserver of a server without one.
type noConnObserver struct{}

func (noConnObserver) ConnLimit(int)   {}
func (noConnObserver) ConnOpened()     {}
func (noConnObserver) ConnClosed()     {}
func (noConnObserver) ConnShed(string) {}

// CloseWrite half-closes the connection when the underlying one can (a *net.TCPConn can):
// http.Server does so before closing after an error answer such as 431, so the client reads
// the answer instead of a reset.
func (tc *trackedConn) CloseWrite() error {
	if cw, ok := tc.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
