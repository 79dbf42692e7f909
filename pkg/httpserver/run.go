package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/svc2svc/svc2svc/pkg/tlsdir"
)

// Run listens on Host:Port and serves until ctx is done, then shuts down the way Kubernetes
// needs: /readyz turns 503 and keep-alives stop, the server keeps serving for DrainDelay
// while the pod is taken out of the Service's endpoints, then http.Server.Shutdown waits up
// to ShutdownTimeout for in-flight requests. Shutdown gets a fresh context because ctx is
// already cancelled by then.
//
// With Config.TLS, Port serves HTTPS: the certificate is read before listening (a missing or
// broken one is an error at once) and re-read until ctx is done, so a renewed one takes
// effect for new connections while open ones go on; the drain uses the last one read.
//
// Connections on Port are capped at MaxConns (see connLimiter). When the server has a
// MetricsHandler, Run also serves it on AdminPort, until the main server has shut down.
//
// Once it listens, Run logs "server listening" with a dialable "addr" (127.0.0.1:PORT when
// listening on all interfaces) for operators, and calls Deps.OnListen with the same address
// for programs (and "admin listening" and Deps.OnAdminListen for the admin port, first). It
// returns a listen error (such as a port in use) at once, nil after a clean shutdown, and an
// error if requests were still running when ShutdownTimeout ran out.
func (s *Server) Run(ctx context.Context) error {
	// The certificate is read before listening, so a broken mount stops the process first.
	tlsCfg, watch, err := s.loadTLS()
	if err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watching sync.WaitGroup
	// Deferred in this order, the watch is stopped before Run waits for it.
	defer watching.Wait()
	defer stopWatch()
	if watch != nil {
		watching.Go(func() { watch(watchCtx) })
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	var adminLn net.Listener
	if s.admin != nil {
		adminAddr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.AdminPort))
		adminLn, err = (&net.ListenConfig{}).Listen(ctx, "tcp", adminAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on %s (admin): %w", adminAddr, err)
		}
	}
	// Requests must outlive ctx while they drain, so their base context keeps ctx's values
	// but not its cancellation; it is cancelled only if Shutdown gives up on them.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	limited := newConnLimiter(ln, s.cfg.MaxConns, s.connObserver)
	// TLS sits above the cap, so a connection counts from its accept, handshake included.
	var public net.Listener = limited
	if tlsCfg != nil {
		public = tls.NewListener(limited, tlsCfg)
	}
	srv := s.httpServer(baseCtx, s.handler)
	srv.ConnState = limited.connState

	// The admin port first, so that whoever OnListen tells can scrape it already.
	var adminSrv *http.Server
	adminServed := make(chan error, 1)
	if adminLn != nil {
		adminSrv = s.httpServer(baseCtx, s.admin)
		adminListening := dialable(adminLn.Addr(), s.cfg.Host)
		s.logger.InfoContext(ctx, "admin listening", slog.String("addr", adminListening))
		if s.onAdminListen != nil {
			s.onAdminListen(adminListening)
		}
		go func() { adminServed <- adminSrv.Serve(adminLn) }()
	}

	listening := dialable(ln.Addr(), s.cfg.Host)
	s.logger.InfoContext(ctx, "server listening", slog.String("addr", listening), slog.Int("max_conns", s.cfg.MaxConns),
		slog.Bool("tls", tlsCfg != nil), slog.Bool("mutual_tls", tlsCfg != nil && s.cfg.mutualTLS()))
	if s.onListen != nil {
		s.onListen(listening)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(public) }()

	select {
	case err := <-served:
		s.closeAdmin(adminSrv)
		return fmt.Errorf("serve: %w", err)
	case err := <-adminServed:
		_ = srv.Close()
		return fmt.Errorf("serve admin: %w", err)
	case <-ctx.Done():
	}

	s.draining.Store(true)
	// Responses now say "Connection: close", so clients reconnect through the Service to a
	// pod that is still ready.
	srv.SetKeepAlivesEnabled(false)
	s.logger.Info("shutdown started", slog.Duration("drain_delay", s.cfg.DrainDelay))
	time.Sleep(s.cfg.DrainDelay)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// The admin port is closed last, so the drain shows in the metrics until the end.
	defer s.closeAdmin(adminSrv)
	if err := srv.Shutdown(shutdownCtx); err != nil {
		cancelBase()
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.logger.Info("server stopped")
	return nil
}

// loadTLS reads Config.TLS's directory, when set, and returns the server configuration that
// presents its current certificate (and, with Config.ClientAuth "require", verifies the
// client's against its current ca.crt), counting each handshake, and the loop that keeps it
// current; nil, nil without TLS.
func (s *Server) loadTLS() (*tls.Config, func(context.Context), error) {
	if !s.cfg.TLS.Enabled() {
		return nil, nil, nil
	}
	dir, err := tlsdir.Load(s.cfg.TLS)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := dir.ServerConfig()
	if err != nil {
		return nil, nil, err
	}
	if s.cfg.mutualTLS() {
		if err := s.requireClientCert(cfg, dir); err != nil {
			return nil, nil, err
		}
	}
	s.countHandshakes(cfg)
	return cfg, func(ctx context.Context) { dir.Watch(ctx, s.logger, s.tlsFiles) }, nil
}

// closeAdmin stops the admin server, if any, at once: scrapes are short and repeatable.
func (s *Server) closeAdmin(srv *http.Server) {
	if srv != nil {
		_ = srv.Close()
	}
}

// httpServer sets every timeout and limit, so no connection can hold the server forever.
func (s *Server) httpServer(baseCtx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		// net/http's own complaints (TLS handshakes, superfluous WriteHeader, accept errors)
		// go to the JSON log instead of plain text on stderr.
		ErrorLog:    slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return baseCtx },
	}
}

// dialable turns a listener address into one a client on this machine can dial: the
// unspecified address (all interfaces) becomes loopback, IPv6 only if host asked for it.
func dialable(addr net.Addr, host string) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	loopback := "127.0.0.1"
	if strings.Contains(host, ":") {
		loopback = "::1"
	}
	return net.JoinHostPort(loopback, strconv.Itoa(tcp.Port))
}
