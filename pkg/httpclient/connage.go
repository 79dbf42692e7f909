package httpclient

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"time"
)

// datedConn is a connection that knows when it was dialled, so that its age can be judged
// when the transport hands it to a request.
type datedConn struct {
	net.Conn
	dialled time.Time
}

// dateConns wraps a transport's dial function so that every connection it makes is a
// *datedConn.
func dateConns(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &datedConn{Conn: c, dialled: time.Now()}, nil
	}
}

// ageLimit bounds how long a keep-alive connection is used: a request that gets a connection
// older than maxAge is sent with "Connection: close", so the connection ends with its
// response and the next request dials afresh.
//
// It exists for the ClusterIP path. kube-proxy picks a backend pod per connection, not per
// request, and Go keeps connections alive indefinitely under steady load, so without a bound
// a frontend pod sends nearly all of its calls to the pod its first connections happened to
// reach, and a scaled-up backend never gets any. Recycling every connection after maxAge lets
// kube-proxy choose again, at the price of one handshake per connection per maxAge. On the
// headless (pod IP) path it costs the same and changes nothing else.
//
// Why this way: the transport tells which connection a request got (httptrace's GotConn, run
// in the request's goroutine before the request is written), and req.Close is what the
// transport itself reads to decide whether to keep the connection, so the connection is
// retired cleanly between two requests, never under one. The attempt sets it on the request
// it made itself (see Client.send), so no copy of the request is needed. The alternatives are
// worse: closing the connection from a timer races with a request that has just picked it and
// fails that request; calling CloseIdleConnections periodically closes only the connections
// idle at that instant, which under steady load are not the old ones in particular, and needs
// a goroutine with a lifecycle. The age is read from the *datedConn the default transport's
// dialer makes; connections from another dialer (a Deps.Transport) are left alone. An HTTPS
// connection is a *tls.Conn over the *datedConn, and is judged by the one beneath. HTTP/2
// connections are never handed to GotConn this way and are left alone too; service calls are
// HTTP/1.1.
type ageLimit struct {
	trace  httptrace.ClientTrace // one allocation holds the trace and what it needs
	req    *http.Request
	maxAge time.Duration
}

// withAgeLimit returns ctx with the trace of an ageLimit, or ctx and nil when maxAge is 0
// (unbounded). The caller makes its request with that context and sets the ageLimit's req.
func withAgeLimit(ctx context.Context, maxAge time.Duration) (context.Context, *ageLimit) {
	if maxAge <= 0 {
		return ctx, nil
	}
	l := &ageLimit{maxAge: maxAge}
	l.trace.GotConn = l.gotConn
	return httptrace.WithClientTrace(ctx, &l.trace), l
}

func (l *ageLimit) gotConn(info httptrace.GotConnInfo) {
	conn := info.Conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	if dc, ok := conn.(*datedConn); ok && time.Since(dc.dialled) >= l.maxAge {
		l.req.Close = true
	}
}
