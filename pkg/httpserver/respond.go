package httpserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
)

// WriteJSON writes v as a JSON response with the given status. It encodes before writing
// anything, so a value that cannot be encoded becomes a clean 500 instead of a half-written
// 200. The body is what json.Marshal makes, and a newline; it is encoded into a buffer reused
// across requests.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer putJSONBuffer(buf)
	// An Encoder writes what json.Marshal makes, HTML-escaped alike, and a newline.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal error","status":500}` + "\n")
	}
	WriteJSONBody(w, status, buf.Bytes())
}

// WriteJSONBody writes body, which must be JSON (ending with a newline, as WriteJSON's do), as
// a JSON response with the given status: the headers and status of WriteJSON, for a handler
// that encodes its answer itself.
func WriteJSONBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonValue
	h["X-Content-Type-Options"] = nosniffValue
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// jsonBuffers holds WriteJSON's buffers; maxPooledJSON keeps a rare huge answer's buffer from
// staying in the pool.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledJSON = 64 << 10

func putJSONBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledJSON {
		return
	}
	buf.Reset()
	jsonBuffers.Put(buf)
}

// WriteError writes {"error": reason, "status": status}, the one error shape clients of every
// service see. reason is shown to the client, so it must never carry internal detail.
func WriteError(w http.ResponseWriter, status int, reason string) {
	WriteJSON(w, status, errorBody{Error: reason, Status: status})
}

type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	WriteError(w, http.StatusNotFound, "not found")
}

// allMethods are the methods chi routes, in the order an Allow header lists them.
var allMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

// methodNotAllowed answers 405 in JSON. chi hands a custom 405 handler no list of allowed
// methods, so it asks the router which methods match, to keep the Allow header that
// RFC 9110 requires. A GET route lists HEAD too, since middleware.GetHead answers it.
func methodNotAllowed(router chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		var allowed []string
		for _, m := range allMethods {
			if router.Match(chi.NewRouteContext(), m, path) ||
				m == http.MethodHead && router.Match(chi.NewRouteContext(), http.MethodGet, path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}
