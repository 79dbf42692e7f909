// Command liveshot takes a screenshot of the frontend's live page in headless Chromium, at a
// moment chosen by what the page shows rather than by a clock: once its lanes have calls, or,
// with -run, after running a command (a rollout, say) and waiting until the page shows its
// effect (more pods than before, some marked gone). The picture of the README is
//
//	kubectl port-forward svc/frontend-service 18090:8080 &
//	go run ./tools/cmd/liveshot -url http://localhost:18090 -out docs/live-rollout.png \
//	  -run 'kubectl rollout restart deployment/backend-deployment'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/svc2svc/svc2svc/tools/internal/chromium"
	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

func main() {
	cli.Main("liveshot", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("liveshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://localhost:8080", "the frontend's page")
	out := fs.String("out", "live.png", "where to save the screenshot (PNG)")
	command := fs.String("run", "", "a shell command to run once the lanes have calls, such as a rollout")
	calls := fs.Int("calls", 30, "calls each view shows before the command runs (or the screenshot is taken)")
	morePods := fs.Int("more-pods", 2, "with -run: pods the page must list beyond those it listed before the command")
	gone := fs.Int("gone", 1, "with -run: pods the page must mark gone")
	limit := fs.Duration("timeout", 5*time.Minute, "bound on the whole run")
	width := fs.Int("width", 1200, "window width")
	height := fs.Int("height", 1000, "window height")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	path, err := chromium.Find()
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "liveshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	tab, stopBrowser := chromium.Start(ctx, path, profile, *width, *height)
	defer stopBrowser()

	if err := chromedp.Do(tab, chromedp.Navigate(*url)); err != nil {
		return fmt.Errorf("open %s: %w", *url, err)
	}
	before, err := waitFor(tab, fmt.Sprintf("p.fresh.calls >= %d && p.keepalive.calls >= %d", *calls, *calls))
	if err != nil {
		return fmt.Errorf("wait for %d calls in each view: %w", *calls, err)
	}
	fmt.Fprintf(stdout, "lanes: %d pods, fresh %s, keep-alive %s\n", before.Pods, before.Fresh.Pods, before.KeepAlive.Pods)
	if *command != "" {
		cmd := exec.CommandContext(ctx, "sh", "-c", *command)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("run %q: %w", *command, err)
		}
		after, err := waitFor(tab, fmt.Sprintf("p.pods >= %d && p.gone >= %d", before.Pods+*morePods, *gone))
		if err != nil {
			return fmt.Errorf("wait for %d more pods and %d gone: %w", *morePods, *gone, err)
		}
		fmt.Fprintf(stdout, "lanes: %d pods, %d gone, fresh %s, keep-alive %s\n", after.Pods, after.Gone, after.Fresh.Pods, after.KeepAlive.Pods)
	}
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(*out, shot, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "saved", *out)
	return nil
}

// waitFor polls the page until cond, a JavaScript expression over p (chromium.LanesJS's
// object), holds, and returns the page then.
func waitFor(tab context.Context, cond string) (chromium.Page, error) {
	_, err := chromedp.Run(tab, chromedp.Poll[any](`(() => { const p = `+chromium.LanesJS+`; return `+cond+`; })()`))
	if err != nil {
		return chromium.Page{}, err
	}
	page, err := chromedp.Run(tab, chromedp.Evaluate[chromium.Page](chromium.LanesJS))
	if err != nil {
		return chromium.Page{}, errors.Join(errors.New("read the page"), err)
	}
	return page, nil
}
