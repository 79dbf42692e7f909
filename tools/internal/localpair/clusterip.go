package localpair

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// clusterIP stands in for a ClusterIP Service and its kube-proxy: one address for every
// replica, and a backend chosen at random for each new TCP connection, the way kube-proxy's
// iptables rules choose an endpoint. What a connection carries is passed through untouched
// (TLS included), so a keep-alive connection stays with the replica it reached, as it does
// in a cluster.
type clusterIP struct {
	ln       net.Listener
	backends []string
	dialer   net.Dialer
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// startClusterIP listens on a loopback port and forwards each connection to one of backends
// until ctx is done; close then waits for every connection to end.
func startClusterIP(ctx context.Context, backends []string) (*clusterIP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &clusterIP{ln: ln, backends: backends, dialer: net.Dialer{Timeout: time.Second}, conns: map[net.Conn]struct{}{}}
	c.wg.Go(func() { c.serve(ctx) })
	c.wg.Go(func() {
		<-ctx.Done()
		_ = ln.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		for conn := range c.conns {
			_ = conn.Close()
		}
		c.conns = nil // a connection accepted from now on is closed at once
	})
	return c, nil
}

// Addr is the stand-in's "ClusterIP:port".
func (c *clusterIP) Addr() string { return c.ln.Addr().String() }

func (c *clusterIP) serve(ctx context.Context) {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return // closed: ctx is done
		}
		c.wg.Go(func() { c.forward(ctx, in) })
	}
}

// forward connects in to a backend picked at random, or closes it when that backend does
// not accept (a replica that stopped; kube-proxy would have dropped it from its rules).
func (c *clusterIP) forward(ctx context.Context, in net.Conn) {
	defer in.Close()
	out, err := c.dialer.DialContext(ctx, "tcp", c.backends[rand.IntN(len(c.backends))])
	if err != nil {
		return
	}
	defer out.Close()
	if !c.track(in, out) {
		return
	}
	defer c.untrack(in, out)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass a half-close on, so the other side sees the end of what this one sent.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

// track registers the connections for closing at shutdown; false means shutdown has begun.
func (c *clusterIP) track(conns ...net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		return false
	}
	for _, conn := range conns {
		c.conns[conn] = struct{}{}
	}
	return true
}

func (c *clusterIP) untrack(conns ...net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range conns {
		delete(c.conns, conn)
	}
}

// wait returns once the listener and every connection have ended, after ctx is done.
func (c *clusterIP) wait() { c.wg.Wait() }
