package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxOutputBytes bounds what is kept of an event command's output.
const maxOutputBytes = 16 << 10

// scheduled is an -event (with a command) or a -mark (without) at an offset into the attack.
type scheduled struct {
	At      time.Duration
	Label   string
	Command string
}

// parseScheduled reads "20s=kubectl delete pod x" (withCommand) or "20s=pod deleted".
func parseScheduled(s string, withCommand bool) (scheduled, error) {
	offset, rest, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(rest) == "" {
		return scheduled{}, fmt.Errorf("want offset=text, e.g. 20s=..., got %q", s)
	}
	at, err := time.ParseDuration(strings.TrimSpace(offset))
	if err != nil || at < 0 {
		return scheduled{}, fmt.Errorf("offset %q is not a duration such as 20s", offset)
	}
	e := scheduled{At: at, Label: strings.TrimSpace(rest)}
	if withCommand {
		e.Command = e.Label
	}
	return e, nil
}

// Mark is a moment of the run worth seeing on the plot: an -event, a -mark or a line on stdin.
type Mark struct {
	AtMS       float64 `json:"at_ms"` // from the start of the attack
	Label      string  `json:"label"`
	Command    string  `json:"command,omitempty"`
	DurationMS float64 `json:"duration_ms,omitempty"` // how long the command ran
	Error      string  `json:"error,omitempty"`       // how the command failed
	Output     string  `json:"output,omitempty"`
}

func (m Mark) at() time.Duration { return time.Duration(m.AtMS * float64(time.Millisecond)) }

// marks collects the marks of one run; events and stdin add to it from their own goroutines.
type marks struct {
	mu      sync.Mutex
	started time.Time
	list    []Mark
	wg      sync.WaitGroup
	closed  bool
}

func newMarks() *marks { return &marks{} }

// start fixes the moment offsets count from.
func (m *marks) start(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started = t
}

// add records a mark at the present moment.
func (m *marks) add(mk Mark, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if !m.started.IsZero() {
		mk.AtMS = ms(at.Sub(m.started))
	}
	m.list = append(m.list, mk)
}

// readLines marks the moment each line of r arrives, until r ends. It is meant for stdin,
// whose Read cannot be interrupted: the goroutine ends with r, and lines after the run are
// ignored.
func (m *marks) readLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			m.add(Mark{Label: line}, time.Now())
		}
	}
}

// schedule runs e at its offset from the start: a plain mark is recorded, a command is run
// with sh -c (bounded by timeout and ctx) and recorded with how it ended. Nothing runs once
// ctx is done.
func (m *marks) schedule(ctx context.Context, e scheduled, timeout time.Duration, stderr io.Writer) {
	m.mu.Lock()
	at := m.started.Add(e.At)
	m.mu.Unlock()
	m.wg.Go(func() {
		timer := time.NewTimer(time.Until(at))
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		began := time.Now()
		if e.Command == "" {
			m.add(Mark{Label: e.Label}, began)
			return
		}
		fmt.Fprintf(stderr, "load: event at %v: %s\n", e.At, e.Command)
		mk := Mark{Label: e.Label, Command: e.Command}
		mk.Output, mk.Error = runCommand(ctx, e.Command, timeout)
		mk.DurationMS = ms(time.Since(began))
		if mk.Error != "" {
			fmt.Fprintf(stderr, "load: event at %v failed: %s\n%s", e.At, mk.Error, mk.Output)
		}
		m.add(mk, began)
	})
}

// runCommand runs command with sh -c and returns its combined output (capped) and, if it
// failed, why.
func runCommand(ctx context.Context, command string, timeout time.Duration) (output, failure string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	out := &capped{limit: maxOutputBytes}
	cmd.Stdout, cmd.Stderr = out, out
	// A command that leaves a child holding its output open must not hang the run.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	switch {
	case err == nil:
		return out.String(), ""
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return out.String(), fmt.Sprintf("did not finish within %v", timeout)
	default:
		return out.String(), err.Error()
	}
}

// wait waits for the events still running and returns every mark in time order. Marks that
// arrive later are dropped.
func (m *marks) wait() []Mark {
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	list := append([]Mark{}, m.list...)
	slices.SortStableFunc(list, func(a, b Mark) int { return cmp.Compare(a.AtMS, b.AtMS) })
	return list
}

// capped keeps the first limit bytes written to it, from several goroutines.
type capped struct {
	mu    sync.Mutex
	buf   strings.Builder
	limit int
	cut   bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := max(0, c.limit-c.buf.Len())
	c.buf.Write(p[:min(len(p), room)])
	if len(p) > room {
		c.cut = true
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return c.buf.String() + "\n... (output cut)"
	}
	return c.buf.String()
}
