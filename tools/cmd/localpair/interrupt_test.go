//go:build unix

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
)

// waitLimit only guards against a hang; nothing here asserts on time.
const waitLimit = 60 * time.Second

// freePorts makes the local run take any free ports, so the test runs beside a `make run`.
var freePorts = []string{"FRONTEND_PORT=0", "BACKEND_BASE_PORT=0", "BACKEND_ADMIN_BASE_PORT=0", "LOG_LEVEL=warn"}

// interrupt starts cmd in a process group of its own, waits until the local pair says it is
// running, then sends SIGINT to the whole group, as a terminal's Ctrl-C does to its
// foreground job, and returns how cmd ended and what it wrote to stderr.
func interrupt(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr servicetest.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe = %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("Start %v = %v", cmd.Args, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	running := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			if !said && strings.HasPrefix(sc.Text(), "svc2svc is running") {
				said = true
				running <- true
			}
		}
		if !said {
			running <- false
		}
	}()
	select {
	case ok := <-running:
		if !ok {
			err := cmd.Wait()
			t.Fatalf("%v ended before running: %v\n%s", cmd.Args, err, stderr.String())
		}
	case <-time.After(waitLimit):
		t.Fatalf("%v not running within %v\n%s", cmd.Args, waitLimit, stderr.String())
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatalf("SIGINT to the process group = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return stderr.String(), err
	case <-time.After(waitLimit):
		t.Fatalf("%v still running %v after Ctrl-C", cmd.Args, waitLimit)
	}
	return "", nil
}

// TestCtrlCExitsZero builds the local run and stops it as Ctrl-C does: it must exit 0.
func TestCtrlCExitsZero(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "localpair")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build = %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), freePorts...)
	if stderr, err := interrupt(t, cmd); err != nil {
		t.Errorf("localpair after Ctrl-C = %v, want exit 0\n%s", err, stderr)
	}
}

// TestMakeRunCtrlC runs `make run` from the repository's root and presses Ctrl-C: make must
// not report an error. With `go run` in the recipe it said "Error 1" whatever the program's
// exit: cmd/go sets its own exit status to 1 when it gets an interrupt. make still ends by the
// signal itself (GNU make re-raises SIGINT once its recipe has stopped, so a shell's $? is
// 130), but silently.
func TestMakeRunCtrlC(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on PATH")
	}
	cmd := exec.Command("make", "--no-print-directory", "run")
	cmd.Dir = filepath.Join("..", "..", "..")
	// Under `make test` this make is a sub-make: it must not take the outer one's flags.
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
			environ = append(environ, kv)
		}
	}
	cmd.Env = append(environ, freePorts...)
	stderr, err := interrupt(t, cmd)
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT) {
		t.Errorf("make run after Ctrl-C = %v, want exit 0 or make's own SIGINT\n%s", err, stderr)
	}
	if strings.Contains(stderr, "make: ***") {
		t.Errorf("make run after Ctrl-C reported an error:\n%s", stderr)
	}
}
