package httpserver

import (
	"testing"
	"time"
)

// TestZeroConfigIsSafe checks that a zero Config serves with the environment's defaults.
func TestZeroConfigIsSafe(t *testing.T) {
	t.Parallel()
	srv := New(Config{}, Deps{}, nil).httpServer(t.Context(), nil)
	want := map[string]time.Duration{"ReadHeaderTimeout": 5 * time.Second, "ReadTimeout": 10 * time.Second,
		"WriteTimeout": 15 * time.Second, "IdleTimeout": 60 * time.Second}
	got := map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("New(Config{}) %s = %v, want %v", k, got[k], w)
		}
	}
	if srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("New(Config{}) MaxHeaderBytes = %d, want %d", srv.MaxHeaderBytes, 64<<10)
	}
	if cfg := (Config{}).withDefaults(); cfg.ShutdownTimeout != 10*time.Second || cfg.MaxBodyBytes != 1<<20 || cfg.DrainDelay != 0 || cfg.MaxConns != 1000 {
		t.Errorf("Config{}.withDefaults() = %+v, want a 10s shutdown timeout, a 1 MiB body limit, no drain delay and 1000 connections", cfg)
	}
}
