package servicetest

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Send sends a request with c and returns the response with its body read, failing the test
// when there is no response.
func Send(t testing.TB, c *http.Client, method, url string, body io.Reader, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s) = %v", method, url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s = %v, want a response", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body = %v", method, url, err)
	}
	return res, string(b)
}

// Chunked hides r's length from net/http's client, which then sends it chunked: the way to
// test a body limit that a Content-Length check alone would not enforce.
func Chunked(r io.Reader) io.Reader { return struct{ io.Reader }{r} }

// RequestIDPattern is what every request id a server echoes or logs must look like: short and
// of a safe charset, never a caller's oversized or hostile id.
var RequestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Probe is one request a stranger might send a server, and what the answer must be.
type Probe struct {
	Name       string
	Method     string
	Path       string
	Header     http.Header
	Body       func() io.Reader // nil: no body
	WantStatus int
	WantBody   string // a substring of the body; "-" wants an empty body
	WantHeader map[string]string
	Check      func(t *testing.T, res *http.Response, body string) // more checks, or nil
}

// CheckProbes sends each probe with c to base ("http://host:port"), in parallel subtests,
// and checks status, body, headers and the probe's own Check.
func CheckProbes(t *testing.T, c *http.Client, base string, probes []Probe) {
	t.Helper()
	for _, p := range probes {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader
			if p.Body != nil {
				body = p.Body()
			}
			res, got := Send(t, c, p.Method, base+p.Path, body, p.Header)
			if res.StatusCode != p.WantStatus {
				t.Errorf("%s %s = %d %.200s, want %d", p.Method, p.Path, res.StatusCode, got, p.WantStatus)
			}
			if p.WantBody == "-" && got != "" || p.WantBody != "-" && !strings.Contains(got, p.WantBody) {
				t.Errorf("%s %s body = %.200q, want %q", p.Method, p.Path, got, p.WantBody)
			}
			for k, want := range p.WantHeader {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s %s header %s = %q, want %q", p.Method, p.Path, k, got, want)
				}
			}
			if p.Check != nil {
				p.Check(t, res, got)
			}
		})
	}
}
