//go:build unix

package cli

import (
	"bufio"
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// waitLimit only guards against a hang; nothing here asserts on time.
const waitLimit = 30 * time.Second

// start starts cmd and waits until its run says ready, so that Main has taken the signals.
func start(t *testing.T, cmd *exec.Cmd) *bufio.Scanner {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe = %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("Start = %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("first line %q, want ready", sc.Text())
	}
	return sc
}

// wait waits for cmd to end, at most waitLimit.
func wait(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLimit):
		t.Fatalf("still running %v after the signal", waitLimit)
		return nil
	}
}

// TestMainSignal sends one SIGINT or SIGTERM: run's context ends and, run having returned
// nil, the command exits 0.
func TestMainSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			cmd := command(t, "cmd", "wait")
			start(t, cmd)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatalf("Signal(%v) = %v", sig, err)
			}
			if err := wait(t, cmd); err != nil {
				t.Errorf("Main after %v = %v, want exit 0", sig, err)
			}
		})
	}
}

// TestMainSecondInterrupt stops a command whose shutdown hangs: the first SIGINT only ends
// run's context, and a later one ends the process, killed by the signal. SIGINT is sent
// until the process ends, as a user presses Ctrl-C again, because Main gives the signal back
// to the runtime just after the context ends, not at the same instant.
func TestMainSecondInterrupt(t *testing.T) {
	t.Parallel()
	cmd := command(t, "cmd", "hang")
	sc := start(t, cmd)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("first SIGINT = %v", err)
	}
	if !sc.Scan() || sc.Text() != "cancelled" {
		t.Fatalf("after the first SIGINT: %q, want cancelled", sc.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(waitLimit)
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
				t.Errorf("Main after a second SIGINT = %v, want killed by SIGINT", err)
			}
			return
		case <-tick.C:
			_ = cmd.Process.Signal(syscall.SIGINT)
		case <-limit:
			t.Fatalf("still running %v after repeated SIGINTs", waitLimit)
		}
	}
}
