// Package cli is what the commands under tools/cmd share at their edges: a context that ends on
// Ctrl-C or SIGTERM, and the way a command ends (its exit code and its error line), so every
// command stops and fails the same way and its run can be tested without exiting the process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ErrUsage means the command line was wrong and the command has already said how (the flag
// package prints the error and the usage itself). Main exits 2 on it, as a flag.ExitOnError
// FlagSet does, so a script can tell a bad command line from a run that failed (exit 1).
var ErrUsage = errors.New("usage")

// ErrHelp means -h or -help was asked for and the usage printed. Main exits 0 on it, as a
// flag.ExitOnError FlagSet does: asking for help is not a failure.
var ErrHelp = errors.New("help")

// Parse parses args with fs, which should be flag.ContinueOnError, and returns ErrHelp for -h
// or -help, ErrUsage for any other error and nil otherwise. The flag package has already
// written the error and the usage to fs.Output(); run returns what Parse returned, so that its
// tests see the outcome and Main turns it into the exit code an ExitOnError FlagSet would give.
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return ErrHelp
	default:
		return ErrUsage
	}
}

// Main runs run with a context that is cancelled by the first SIGINT or SIGTERM, then exits
// the process: 0 when run returns nil or ErrHelp, 2 on ErrUsage, and 1 on any other error,
// which it writes to stderr as "name: err" (err alone when name is empty, for the commands
// whose errors already say where they come from). The first signal gives signals back to the
// runtime, so a second Ctrl-C ends the process at once, as in the services, when a shutdown
// hangs.
func Main(name string, run func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	err := run(ctx)
	stop()
	os.Exit(exitCode(os.Stderr, name, err))
}

// exitCode is Main's exit code for what run returned, after writing a failure to stderr.
func exitCode(stderr io.Writer, name string, err error) int {
	switch {
	case err == nil, errors.Is(err, ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	case name == "":
		fmt.Fprintln(stderr, err)
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return 1
}
