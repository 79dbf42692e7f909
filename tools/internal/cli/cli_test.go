package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a command that calls Main: a test starts it again with
// CLI_TEST_RUN naming the run below and CLI_TEST_NAME the command's name, and reads its exit.
func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv("CLI_TEST_RUN"); ok {
		Main(os.Getenv("CLI_TEST_NAME"), func(ctx context.Context) error { return child(ctx, mode) })
	}
	os.Exit(m.Run())
}

// child is the run of the re-executed test binary.
func child(ctx context.Context, mode string) error {
	switch mode {
	case "ok":
		return nil
	case "help":
		return fmt.Errorf("parse: %w", ErrHelp)
	case "usage":
		return fmt.Errorf("parse: %w", ErrUsage)
	case "fail":
		return errors.New("boom")
	case "wait":
		// Stops cleanly on the first signal, as a command's run does.
		fmt.Println("ready")
		<-ctx.Done()
		return nil
	case "hang":
		// A shutdown that never ends: only a second signal can stop it.
		fmt.Println("ready")
		<-ctx.Done()
		fmt.Println("cancelled")
		time.Sleep(time.Hour)
		return nil
	}
	return fmt.Errorf("unknown CLI_TEST_RUN %q", mode)
}

// command is the test binary set up to run child(mode) through Main as the command name.
func command(t *testing.T, name, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CLI_TEST_RUN="+mode, "CLI_TEST_NAME="+name)
	return cmd
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    error
		wantN   int    // -n after Parse (the flag package zeroes a number it cannot read)
		wantOut string // what the flag package wrote
	}{
		{nil, nil, 1, ""},
		{[]string{"-n", "3", "rest"}, nil, 3, ""},
		{[]string{"-h"}, ErrHelp, 1, "-n int"},
		{[]string{"-help"}, ErrHelp, 1, "-n int"},
		{[]string{"-bogus"}, ErrUsage, 1, "flag provided but not defined: -bogus"},
		{[]string{"-n", "x"}, ErrUsage, 0, `invalid value "x" for flag -n`},
		{[]string{"-n"}, ErrUsage, 1, "flag needs an argument: -n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
			var out bytes.Buffer
			fs.SetOutput(&out)
			n := fs.Int("n", 1, "a number")
			if err := Parse(fs, tt.args); err != tt.want {
				t.Errorf("Parse(%q) = %v, want %v", tt.args, err, tt.want)
			}
			if *n != tt.wantN {
				t.Errorf("Parse(%q): -n = %d, want %d", tt.args, *n, tt.wantN)
			}
			if tt.wantOut == "" && out.Len() > 0 || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("Parse(%q) wrote %q, want %q", tt.args, out.String(), tt.wantOut)
			}
		})
	}
}

// TestMainExit runs commands that end in every way Main knows and checks each one's exit code
// and what it wrote to stderr.
func TestMainExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mode string
		wantCode   int
		wantStderr string
	}{
		{"cmd", "ok", 0, ""},
		{"cmd", "help", 0, ""},
		{"cmd", "usage", 2, ""},
		{"cmd", "fail", 1, "cmd: boom\n"},
		{"", "fail", 1, "boom\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"_"+tt.mode, func(t *testing.T) {
			t.Parallel()
			cmd := command(t, tt.name, tt.mode)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("run %s: %v", tt.mode, err)
			}
			if code := cmd.ProcessState.ExitCode(); code != tt.wantCode || stderr.String() != tt.wantStderr {
				t.Errorf("Main(%q, %s) exit %d, stderr %q; want exit %d, stderr %q",
					tt.name, tt.mode, code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		want       int
		wantStderr string
	}{
		{"load", nil, 0, ""},
		{"load", ErrHelp, 0, ""},
		{"load", fmt.Errorf("options: %w", ErrUsage), 2, ""},
		{"load", errors.New("3 requests failed"), 1, "load: 3 requests failed\n"},
		{"", errors.New("invalid configuration:\n  X: required"), 1, "invalid configuration:\n  X: required\n"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if got := exitCode(&stderr, tt.name, tt.err); got != tt.want || stderr.String() != tt.wantStderr {
			t.Errorf("exitCode(%q, %v) = %d, wrote %q; want %d, %q", tt.name, tt.err, got, stderr.String(), tt.want, tt.wantStderr)
		}
	}
}
