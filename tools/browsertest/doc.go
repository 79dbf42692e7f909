// Package browsertest holds the tests that load the frontend's page in a real browser:
// headless Chromium, driven through chromedp, against the local pair started in-process on
// loopback (tools/internal/localpair), so the page's script, its Content-Security-Policy and
// the calls it shows are checked as a user would see them. Chromium is found as package
// chromium says ($CHROMIUM, else chromium, chromium-browser, google-chrome or
// google-chrome-stable on PATH); the tests fail, saying how to install it, when there is none.
package browsertest
