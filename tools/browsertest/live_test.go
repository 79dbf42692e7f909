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

// listen records the problems of tab; page is the page's own URL, whose status (a 503 when
// the backend cannot be reached) is the frontend's answer, not a problem of the page.
func (p *problems) listen(t *testing.T, tab context.Context, page string) {
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
			if ev.Entry.Level == log.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") && ev.Entry.URL != page {
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
// waits, within a bound, for its lanes to fill: behind the ClusterIP stand-in, where fresh
// connections reach all three backends and the keep-alive pool one; with DNS listing the three
// (as a headless Service does), where both views reach all three; and with no backend to find,
// where every call lands in the failed lanes. The hint must name the case, and the browser
// must report no error. Each case saves a screenshot.
func TestLivePage(t *testing.T) {
	t.Parallel()
	const all = "backend-1,backend-2,backend-3"
	tests := []struct {
		name      string
		clusterIP bool
		environ   []string // the frontend's, after the pair's
		// until is a JavaScript condition over p, chromium.LanesJS's object, that the page
		// must meet within waitLimit; check then judges the page.
		until string
		check func(t *testing.T, p chromium.Page)
	}{
		{
			name: "clusterip", clusterIP: true,
			// Enough calls for the keep-alive view to have had its chances too.
			until: `p.fresh.pods === "` + all + `" && p.fresh.calls >= 30 && p.keepalive.calls >= 30`,
			check: func(t *testing.T, p chromium.Page) {
				// One pooled connection, kept for the whole test (CLIENT_MAX_CONN_AGE=10m).
				if p.KeepAlive.Pods == "" || strings.Contains(p.KeepAlive.Pods, ",") {
					t.Errorf("keep-alive view reached %q (fresh: %q), want one backend behind a ClusterIP", p.KeepAlive.Pods, p.Fresh.Pods)
				}
				if !strings.Contains(p.Hint, "a ClusterIP Service") {
					t.Errorf("hint %q, want it to name a ClusterIP Service", p.Hint)
				}
			},
		},
		{
			name:  "headless",
			until: `p.fresh.pods === "` + all + `" && p.fresh.calls >= 30 && p.keepalive.calls >= 30`,
			check: func(t *testing.T, p chromium.Page) {
				if p.KeepAlive.Pods != all {
					t.Errorf("keep-alive view reached %q, want all of %s with a pod per address", p.KeepAlive.Pods, all)
				}
				if !strings.Contains(p.Hint, "both views spread") {
					t.Errorf("hint %q, want it to say both views spread", p.Hint)
				}
			},
		},
		{
			name:    "no backend",
			environ: []string{"DISCOVERY_SERVICE=no-such-service"},
			until:   `p.fresh.failed >= 10 && p.keepalive.failed >= 10`,
			check: func(t *testing.T, p chromium.Page) {
				if p.Fresh.Pods != "" || p.KeepAlive.Pods != "" || p.Fresh.Failed != p.Fresh.Calls {
					t.Errorf("page shows %+v, want failed calls only", p)
				}
				if !strings.Contains(p.Hint, "no address") {
					t.Errorf("hint %q, want it to say discovery found no address", p.Hint)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			var logs servicetest.Buffer
			pair, err := localpair.Start(ctx, localpair.Config{
				ClusterIP:       tt.clusterIP,
				Environ:         []string{"LOG_LEVEL=error", "CLIENT_MAX_CONN_AGE=10m"},
				FrontendEnviron: tt.environ,
				Stdout:          &logs,
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
			seen.listen(t, tab, pair.FrontendURL+"/")
			if err := chromedp.Do(tab, chromedp.Navigate(pair.FrontendURL+"/")); err != nil {
				t.Fatalf("open %s: %v", pair.FrontendURL, err)
			}
			_, err = chromedp.Run(tab, chromedp.Poll[any](`(() => { const p = `+chromium.LanesJS+`; return `+tt.until+`; })()`,
				chromedp.WithPollingTimeout(waitLimit)))
			got, evalErr := chromedp.Run(tab, chromedp.Evaluate[chromium.Page](chromium.LanesJS))
			if err != nil || evalErr != nil {
				t.Fatalf("the page did not get to %s within %v: %v %v; it shows %+v\nbrowser: %s\nlogs: %s",
					tt.until, waitLimit, err, evalErr, got, seen.String(), logs.String())
			}
			tt.check(t, got)
			if !strings.Contains(got.Found, "found via dns") && !strings.Contains(got.Found, "no address") {
				t.Errorf("page says %q, want how the backend was found", got.Found)
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
			path := filepath.Join(dir, "live-page-"+strings.ReplaceAll(tt.name, " ", "-")+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s (fresh %q, keep-alive %q)", path, got.Fresh.Pods, got.KeepAlive.Pods)
		})
	}
}
