package httpserver

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5/middleware"
)

// maxRequestIDLen bounds a caller's X-Request-Id: long enough for a UUID or a trace id with a
// prefix, short enough that a log line cannot be inflated through it.
const maxRequestIDLen = 64

// ContentSecurityPolicy is sent with every answer. It allows no script at all, styles and
// images only from the server itself (a page's stylesheet is a file it serves, never inline)
// and no framing, so an HTML answer that echoed something unexpected still could not run it
// or be overlaid by another site. JSON and text answers load nothing, so the policy costs them
// nothing.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// requestID gives each request an id: the caller's X-Request-Id when it is a plausible id
// (1 to 64 characters of A-Z a-z 0-9 . _ -), a fresh random one otherwise. It is set on the
// answer, so a client can quote it in a bug report, and the access log reads it from there.
// A bad id is dropped, never echoed or logged: a caller must not be able to put 60 KB,
// newlines or markup into our headers and log lines.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(middleware.RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header()[middleware.RequestIDHeader] = []string{id}
		next.ServeHTTP(w, r)
	})
}

// newRequestID returns 26 random characters of the base32 alphabet, the form crypto/rand.Text
// has. A request id names a request in logs; it must not collide, but it need not be secret,
// so it comes from math/rand/v2's generator (seeded from the OS, no system call per id).
func newRequestID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [26]byte
	x, y := rand.Uint64(), rand.Uint64()
	for i := range 13 {
		b[i], b[13+i] = alphabet[x&31], alphabet[y&31]
		x, y = x>>5, y>>5
	}
	return string(b[:])
}

// validRequestID reports whether id is 1 to maxRequestIDLen characters of [A-Za-z0-9._-].
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := range len(id) {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// secureHeaders sets the browser protections on every answer before the handler runs, so
// errors (404, 405, 413, 500) carry them too. A handler may still override one.
//
// The values are shared by every answer rather than made per request (Header.Set makes a
// slice each time): net/http only reads them, and a handler that changes one replaces it with
// Set or Del, which never writes into the shared slice.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = cspValue
		h["X-Content-Type-Options"] = nosniffValue
		h["X-Frame-Options"] = denyValue // for browsers that predate frame-ancestors
		h["Referrer-Policy"] = noReferrerValue
		next.ServeHTTP(w, r)
	})
}

// The shared header values of secureHeaders and WriteJSON, in canonical form.
var (
	cspValue        = []string{ContentSecurityPolicy}
	nosniffValue    = []string{"nosniff"}
	denyValue       = []string{"DENY"}
	noReferrerValue = []string{"no-referrer"}
	jsonValue       = []string{"application/json"}
)

// refuseLargeBody answers 413 for a body over limit, whatever the route or method. A
// Content-Length over the limit is refused before a byte of the body is read. A body of
// unknown length (chunked) is read here, through the http.MaxBytesReader that limitBody put
// around it, and handed on from memory: only by reading it can the server tell, and a route
// that ignores bodies (every GET) would otherwise answer 200 and then drop the connection.
// That holds at most limit bytes per request, the same bound a handler's io.ReadAll would
// have; no route here streams uploads.
func refuseLargeBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				// No "Connection: close" here: net/http closes by itself when 256 KB or more
				// stay unread, and then closes gently (FIN, a pause, then close), so a client
				// still sending reads the 413 instead of a reset. Setting the header would
				// make it close at once.
				WriteError(w, http.StatusRequestEntityTooLarge, "request body too large")
				return
			}
			if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					// The MaxBytesReader has already told net/http to close the connection.
					var tooBig *http.MaxBytesError
					if errors.As(err, &tooBig) {
						WriteError(w, http.StatusRequestEntityTooLarge, "request body too large")
					} else {
						WriteError(w, http.StatusBadRequest, "unreadable request body")
					}
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// refuseBadQuery answers 400 for a query string url.ParseQuery rejects (a ';' separator, a
// broken %-escape). r.URL.Query drops such pairs silently, so without this "n=3;n=4" would
// reach a handler as no n at all and be served with the default.
func refuseBadQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			next.ServeHTTP(w, r) // nothing to parse (ParseQuery would still make a map)
			return
		}
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			WriteError(w, http.StatusBadRequest, "malformed query string")
			return
		}
		next.ServeHTTP(w, r)
	})
}
