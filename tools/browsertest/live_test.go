package browsertest

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/svc2svc/svc2svc/pkg/servicetest"
	"github.com/svc2svc/svc2svc/tools/internal/chromium"
	"github.com/svc2svc/svc2svc/tools/internal/localpair"
)

// screenshots is where the tests save what the browser showed; empty means each test's
// temporary directory. docs/live-page.png is made with
//
//	go test ./tools/browsertest -run TestLivePage/clusterip -screenshots "$PWD/docs"
var screenshots = flag.String("screenshots", "", "directory for the screenshots (default: the test's temporary directory)")

// waitLimit bounds each wait for the page: it is no speed goal, only a guard against a hang.
const waitLimit = 60 * time.Second

// browser starts a headless Chromium of its own for t (see package chromium: it reaches
// nothing but loopback) and returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := chromium.Find()
	if err != nil {
		t.Fatalf("the browser tests need a browser: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitLimit)
	t.Cleanup(cancel)
	tab, stop := chromium.Start(ctx, path, t.TempDir(), 1200, 900)
	t.Cleanup(stop)
	return tab
}

// problems collects what the page must not produce: uncaught exceptions and errors in the
// browser's log, such as a script or a request the Content-Security-Policy refused.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) listen(t *testing.T, tab context.Context) {
	t.Helper()
	err := chromedp.Listen(tab, func(ev any) {
		var problem string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problem = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				problem += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			// The browser asks for /favicon.ico by itself; the frontend has none.
			if ev.Entry.Level == log.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
				problem = string(ev.Entry.Source) + ": " + ev.Entry.Text
			}
		}
		if problem != "" {
			p.mu.Lock()
			p.list = append(p.list, problem)
			p.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start the browser: %v", err)
	}
}

func (p *problems) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.list, "\n")
}

// TestLivePage loads the frontend's page in headless Chromium against the local pair and
// waits, within a bound, for its lanes to fill: once behind the ClusterIP stand-in, where
// fresh connections reach all three backends and the keep-alive pool one, and once with DNS
// listing the three (as a headless Service does), where both views reach all three. The hint
// must name the case. Each run saves a screenshot.
func TestLivePage(t *testing.T) {
	t.Parallel()
	all := "backend-1,backend-2,backend-3"
	tests := []struct {
		name          string
		clusterIP     bool
		wantKeepAlive func(pods string) bool
		wantHint      string
	}{
		{
			name: "clusterip", clusterIP: true, wantHint: "a ClusterIP Service",
			// One pooled connection, kept for the whole test (CLIENT_MAX_CONN_AGE=10m below).
			wantKeepAlive: func(pods string) bool { return pods != "" && !strings.Contains(pods, ",") },
		},
		{
			name: "headless", wantHint: "both views spread",
			wantKeepAlive: func(pods string) bool { return pods == all },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			var logs servicetest.Buffer
			pair, err := localpair.Start(ctx, localpair.Config{
				ClusterIP: tt.clusterIP,
				Environ:   []string{"LOG_LEVEL=warn", "CLIENT_MAX_CONN_AGE=10m"},
				Stdout:    &logs,
			})
			if err != nil {
				cancel()
				t.Fatalf("localpair.Start = %v", err)
			}
			t.Cleanup(func() {
				cancel()
				if err := pair.Wait(); err != nil {
					t.Errorf("pair.Wait = %v", err)
				}
			})

			tab := browser(t)
			var seen problems
			seen.listen(t, tab)
			if err := chromedp.Do(tab, chromedp.Navigate(pair.FrontendURL+"/")); err != nil {
				t.Fatalf("open %s: %v", pair.FrontendURL, err)
			}
			// Wait until the fresh view has reached every backend and each view shows at
			// least 30 calls (a few batches), so the keep-alive view has had its chances too.
			_, err = chromedp.Run(tab, chromedp.Poll[any](`(() => { const p = `+chromium.LanesJS+`;
				return p.fresh.pods === "`+all+`" && p.fresh.calls >= 30 && p.keepalive.calls >= 30; })()`,
				chromedp.WithPollingTimeout(waitLimit)))
			got, evalErr := chromedp.Run(tab, chromedp.Evaluate[chromium.Page](chromium.LanesJS))
			if err != nil || evalErr != nil {
				t.Fatalf("the lanes did not fill within %v: %v %v; the page shows %+v\nbrowser: %s\nlogs: %s",
					waitLimit, err, evalErr, got, seen.String(), logs.String())
			}
			if !tt.wantKeepAlive(got.KeepAlive.Pods) || got.KeepAlive.Pods == got.Fresh.Pods && tt.clusterIP {
				t.Errorf("keep-alive view reached %q (fresh: %q), not what %s should show", got.KeepAlive.Pods, got.Fresh.Pods, tt.name)
			}
			if !strings.Contains(got.Hint, tt.wantHint) || !strings.Contains(got.Found, "found via dns") {
				t.Errorf("page says %q and hints %q, want discovery through dns and a hint with %q", got.Found, got.Hint, tt.wantHint)
			}
			if p := seen.String(); p != "" {
				t.Errorf("the browser reported:\n%s", p)
			}

			shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			dir := *screenshots
			if dir == "" {
				dir = t.TempDir()
			}
			path := filepath.Join(dir, "live-page-"+tt.name+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s (fresh %s, keep-alive %s)", path, got.Fresh.Pods, got.KeepAlive.Pods)
		})
	}
}
