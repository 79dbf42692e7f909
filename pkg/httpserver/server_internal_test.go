package httpserver

import (
	"context"
	"net"
	"testing"
	"time"
)

type ctxKey struct{}

func TestHTTPServerSettings(t *testing.T) {
	t.Parallel()
	cfg := Config{
		ReadHeaderTimeout: 1 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second,
		IdleTimeout: 4 * time.Second, MaxHeaderBytes: 5000,
	}
	base := context.WithValue(context.Background(), ctxKey{}, "base")
	srv := New(cfg, Deps{}, nil)
	hs := srv.httpServer(base, srv.Handler())
	if hs.ReadHeaderTimeout != cfg.ReadHeaderTimeout || hs.ReadTimeout != cfg.ReadTimeout ||
		hs.WriteTimeout != cfg.WriteTimeout || hs.IdleTimeout != cfg.IdleTimeout || hs.MaxHeaderBytes != cfg.MaxHeaderBytes {
		t.Errorf("http.Server limits = %v %v %v %v %d, want %v %v %v %v %d",
			hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout, hs.MaxHeaderBytes,
			cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout, cfg.MaxHeaderBytes)
	}
	if hs.ErrorLog == nil {
		t.Error("http.Server.ErrorLog = nil, want net/http's errors routed to slog")
	}
	if hs.BaseContext == nil || hs.BaseContext(nil).Value(ctxKey{}) != "base" {
		t.Error("http.Server.BaseContext does not return the run's base context")
	}
	if hs.Handler == nil {
		t.Error("http.Server.Handler = nil")
	}
}

func TestDialable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr *net.TCPAddr
		host string
		want string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "", "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "0.0.0.0", "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "::", "[::1]:8080"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 43123}, "127.0.0.1", "127.0.0.1:43123"},
	}
	for _, tt := range tests {
		if got := dialable(tt.addr, tt.host); got != tt.want {
			t.Errorf("dialable(%v, %q) = %q, want %q", tt.addr, tt.host, got, tt.want)
		}
	}
}
