// Package chromium finds a Chromium (or Chrome) binary and starts it headless through chromedp
// for the browser tests and tools, confined to loopback.
package chromium

import (
	"context"
	"errors"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// ErrNotFound says that no browser was found, and how to install one.
var ErrNotFound = errors.New("no Chromium found: install it (Debian or Ubuntu: apt-get install -y chromium) " +
	"or set CHROMIUM to a Chromium or Chrome binary")

// Find returns $CHROMIUM, else the first of chromium, chromium-browser, google-chrome and
// google-chrome-stable on PATH.
func Find() (string, error) {
	if path := os.Getenv("CHROMIUM"); path != "" {
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", ErrNotFound
}

// Start starts the browser at path, headless, with its profile in userDataDir and a window
// of width x height, and returns a tab's context; cancel stops the browser. It reaches nothing
// but loopback: every host name other than localhost and 127.0.0.1 fails to resolve, and its
// background services (updates, sync, safe browsing) are off. It runs without the sandbox, which
// root (as in CI) cannot use.
func Start(ctx context.Context, path, userDataDir string, width, height int) (tab context.Context, cancel context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(userDataDir),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	return tab, func() { cancelTab(); cancelAlloc() }
}

// LanesJS reads the frontend's live page: for each view ("fresh", "keepalive") the pods it
// reached (count above 0, sorted, joined with commas), its calls in all and its failed calls; the number of
// pods listed, of pods marked gone, the hint and the discovery line. It evaluates to an
// object that decodes into Page.
const LanesJS = `(() => {
  const view = (mode) => {
    const lanes = [...document.querySelectorAll('.view[data-mode="' + mode + '"] .lane')];
    const reached = lanes.filter((l) => l.dataset.pod !== "failed" && +l.dataset.count > 0);
    const failed = lanes.find((l) => l.dataset.pod === "failed");
    return {pods: reached.map((l) => l.dataset.pod).sort().join(","),
      calls: lanes.reduce((s, l) => s + +l.dataset.count, 0),
      failed: failed ? +failed.dataset.count : 0};
  };
  const lanes = [...document.querySelectorAll('.view[data-mode="fresh"] .lane')].filter((l) => l.dataset.pod !== "failed");
  return {fresh: view("fresh"), keepalive: view("keepalive"),
    pods: lanes.length, gone: lanes.filter((l) => l.classList.contains("gone")).length,
    hint: document.getElementById("live-hint").textContent,
    found: document.getElementById("live-found").textContent};
})()`

// Page is what LanesJS returns.
type Page struct {
	Fresh     View `json:"fresh"`
	KeepAlive View `json:"keepalive"`
	// Pods counts the lanes (pods seen in the last minute), Gone those marked gone.
	Pods  int    `json:"pods"`
	Gone  int    `json:"gone"`
	Hint  string `json:"hint"`
	Found string `json:"found"`
}

// View is one view of the page.
type View struct {
	Pods   string `json:"pods"`
	Calls  int    `json:"calls"`
	Failed int    `json:"failed"`
}
