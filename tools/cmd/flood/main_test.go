package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFlood floods a plain httptest server, which holds every connection: all are opened,
// the idle ones answered, and the slowloris ones still open, since it has no header timeout.
func TestFlood(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	environ := []string{"FLOOD_ADDR=" + strings.TrimPrefix(srv.URL, "http://"), "FLOOD_IDLE=50", "FLOOD_SLOW=10",
		"FLOOD_HOLD=1s", "FLOOD_TRICKLE=100ms", "FLOOD_WORKERS=4"}
	if err := run(t.Context(), environ, &out); err != nil {
		t.Fatalf("run = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rep report
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("last line %q is not a report: %v", lines[len(lines)-1], err)
	}
	if rep.IdleOpened != 50 || rep.IdleAnswered != 50 || rep.SlowOpened != 10 || rep.DialErrors != 0 {
		t.Errorf("report = %+v, want 50 idle opened and answered, 10 slow, no dial errors", rep)
	}
	if rep.StillOpen != 60 || rep.ClosedByServer != 0 {
		t.Errorf("report = %+v, want all 60 still open (the server has no limit)", rep)
	}
	if rep.HeldSeconds < time.Second.Seconds() {
		t.Errorf("held %vs, want at least FLOOD_HOLD (1s)", rep.HeldSeconds)
	}
}

func TestBadSettings(t *testing.T) {
	t.Parallel()
	if err := run(t.Context(), []string{"FLOOD_IDLE=-1"}, new(bytes.Buffer)); err == nil ||
		!strings.Contains(err.Error(), "FLOOD_ADDR") || !strings.Contains(err.Error(), "FLOOD_IDLE") {
		t.Errorf("run without FLOOD_ADDR and with FLOOD_IDLE=-1 = %v, want both named", err)
	}
}
